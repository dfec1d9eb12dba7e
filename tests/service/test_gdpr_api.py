"""GDPR over HTTP (admin only): the right of access; erasure by structure that reaches this
service's memory and rewrites its database file; ids shaped like names of other records
(a model, a scope, a table, LIKE wildcards) erase nothing but a customer."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from segmento.store.backend import base_tables


def read_all(api) -> dict[str, list[dict]]:
    with api.service.reader() as ws:
        return {name: ws.table(name).to_pyarrow().to_pylist() for name in base_tables(ws.con)}


def database_bytes(api) -> bytes:
    with api.service.reader() as ws:
        path = Path(ws.con.con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0])
    wal = Path(f"{path}.wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_export_holds_everything_about_the_customer(api) -> None:
    with api.service.reader() as ws:
        customer = ws.table("orders").order_by("order_id").customer_id.to_pyarrow()[0].as_py()
    body = api.get(f"/api/customers/{customer}/export").json()
    assert body["customer_id"] == customer
    assert {"customers", "orders", "events", "segment_snapshots"} <= set(body["data"])
    assert all(row["customer_id"] == customer for row in body["data"]["orders"])
    assert api.get("/api/customers/NOBODY/export").status_code == 404


def test_ids_named_like_other_records_erase_nothing(api) -> None:
    before = read_all(api)
    for name in ("value", "read", "orders", "_", "%", "admin", "rfm", "big_spenders"):
        response = api.delete(f"/api/customers/{quote(name, safe='')}")
        assert response.status_code == 200, response.text
        assert response.json()["removed"] == {}
    after = read_all(api)
    for table in ("segmentation_models", "api_keys", "ingestions", "audiences", "customers", "quarantine",
                  "activation_outbox", "alerts"):
        assert after[table] == before[table], f"{table} changed"


def test_forget_erases_everywhere_memory_and_file_bytes_and_says_so(api, base) -> None:
    customer = base.customers[30]
    assert api.get(f"/api/customers/{customer}").status_code == 200
    export = api.get(f"/api/customers/{customer}/export").json()["data"]
    api.service.flush()
    assert customer.encode() in database_bytes(api)

    response = api.delete(f"/api/customers/{customer}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["removed"] == {table: len(rows) for table, rows in export.items()}  # access == erasure
    assert body["physically_complete"] is True and "rewritten" in body["note"]
    assert api.get(f"/api/customers/{customer}").status_code == 404
    assert api.get(f"/api/customers/{customer}", params={"fresh": True}).status_code == 404
    assert customer.encode() not in database_bytes(api)
    assert api.get(f"/api/customers/{base.customers[31]}").status_code == 200  # serving on the new file
    api.service.flush()
    for table, rows in read_all(api).items():
        assert customer not in repr(rows), f"{table} still mentions the erased customer"


def test_scheduled_compaction_leaves_erasures_pending_until_its_daily_time(api, base) -> None:
    service, settings = api.service, api.service.ws.project.gdpr
    settings.compact, settings.compact_at = "scheduled", "23:59"  # the service's own loop (real clock) waits too
    try:
        customer = base.customers[50]
        body = api.delete(f"/api/customers/{customer}").json()
        assert body["physically_complete"] is False and "segmento gdpr compact" in body["note"]
        with service.writer() as ws:
            assert len(ws.pending_erasures()) == 1
        assert not service.compaction_due(datetime(2025, 1, 6, 23, 58))
        assert service.compaction_due(datetime(2025, 1, 6, 23, 59))
        assert service.compact().completed == 1
        assert not service.compaction_due(datetime(2025, 1, 6, 23, 59, 30))  # once a day
        assert customer.encode() not in database_bytes(api)
        with service.writer() as ws:
            assert ws.pending_erasures() == []
    finally:
        settings.compact, settings.compact_at = "on_erasure", None
