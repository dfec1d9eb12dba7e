"""GDPR over HTTP (admin only): the right of access, and erasure that reaches this
service's memory and its own tables too."""

from __future__ import annotations

import time

from segmento.store.backend import base_tables


def test_export_holds_everything_about_the_customer(api, reader) -> None:
    customer = reader.table("orders").order_by("order_id").customer_id.to_pyarrow()[0].as_py()
    body = api.get(f"/api/customers/{customer}/export").json()
    assert body["customer_id"] == customer
    assert {"customers", "orders", "events", "segment_snapshots"} <= set(body["data"])
    assert all(row["customer_id"] == customer for row in body["data"]["orders"])
    assert api.get("/api/customers/NOBODY/export").status_code == 404


def test_forget_erases_everywhere_including_the_read_model(api, base, reader) -> None:
    customer = base.customers[30]
    assert api.get(f"/api/customers/{customer}").status_code == 200
    api.service.flush()  # the read above is in the audit log (by hash) before the erasure

    response = api.delete(f"/api/customers/{customer}")
    assert response.status_code == 200, response.text
    assert response.json()["removed"]["customers"] == 1
    assert api.get(f"/api/customers/{customer}").status_code == 404
    assert api.get(f"/api/customers/{customer}", params={"fresh": True}).status_code == 404

    deadline = time.monotonic() + 30
    while customer in (api.service.profiles.model.index if api.service.profiles.model else {customer}):
        assert time.monotonic() < deadline, "the read model was not rebuilt after the erasure"
        time.sleep(0.1)
    api.service.flush()
    for table in base_tables(reader.con):
        text = reader.table(table).to_pyarrow().to_pylist()
        assert customer not in repr(text), f"{table} still mentions the erased customer"
