"""Customer 360 over HTTP: every part equals what the owning stage holds for that customer,
the read model equals a live read, and reads are audited without the customer's id."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, time
from typing import Any

import pytest

from segmento.audiences.service import Audiences
from segmento.dynamics.store import snapshots
from segmento.service.live_features import FeatureSQL
from segmento.service.profiles import load
from segmento.store.consents import consents_in_force

from service_support import END, close

AT = datetime.combine(END, time.max)


def jsonish(value: Any) -> Any:
    """A Python value as it reads after a JSON round trip (dates in ISO format, NaN as null)."""
    text = json.dumps(value, default=lambda v: v.isoformat())
    return json.loads(text, parse_constant=lambda name: None)


@pytest.fixture(scope="module")
def oracle(reader) -> dict[str, Any]:
    """Each stage's answer for every customer, read straight from the knowledge base."""
    ws = reader
    features = {r.pop("customer_id"): r for r in ws.features(AT).to_pyarrow().to_pylist()}
    membership: dict[str, list[str]] = {}
    for row in Audiences(ws.con, ws.project).current().to_pyarrow().to_pylist():
        membership.setdefault(row["customer_id"], []).append(row["audience"])
    history: dict[str, dict[str, list[dict]]] = {}
    for row in snapshots(ws.con).order_by(["segmentation", "period"]).to_pyarrow().to_pylist():
        step = {"period": row["period"].isoformat(), "segment_id": row["segment_id"], "label": row["segment_label"],
                "rank": row["segment_rank"]}
        history.setdefault(row["customer_id"], {}).setdefault(row["segmentation"], []).append(step)
    consents: dict[str, list[dict]] = {}
    state = consents_in_force(ws.con, AT, purpose=None).order_by(["customer_id", "channel", "purpose"])
    for row in state.to_pyarrow().to_pylist():
        consents.setdefault(row.pop("customer_id"), []).append(jsonish(row))
    attributes = {r["customer_id"]: jsonish(r) for r in ws.table("customers").to_pyarrow().to_pylist()}
    return {"features": features, "audiences": membership, "history": history, "consents": consents,
            "attributes": attributes, "latest": {name: ws.periods(name)[-1].isoformat() for name in ("value", "rfm")}}


def test_every_part_of_the_360_is_what_its_stage_holds(api, base, oracle) -> None:
    for customer in base.customers[::15]:
        response = api.get(f"/api/customers/{customer}")
        assert response.status_code == 200, response.text
        got = response.json()
        assert got["source"] == "read-model"
        assert got["as_of"].startswith(END.isoformat())
        assert got["attributes"] == oracle["attributes"][customer]
        assert close(got["features"], jsonish(oracle["features"][customer])), customer
        assert got["audiences"] == sorted(oracle["audiences"].get(customer, []))
        assert got["segment_history"] == oracle["history"].get(customer, {})
        for name, path in oracle["history"].get(customer, {}).items():
            latest = path[-1] if path[-1]["period"] == oracle["latest"][name] else None
            assert got["segments"][name] == latest
        assert got["consents"] == oracle["consents"].get(customer, [])


def test_the_read_model_answers_what_a_live_read_does(api, base) -> None:
    for customer in base.customers[3::20]:
        cached = api.get(f"/api/customers/{customer}").json()
        live = api.get(f"/api/customers/{customer}", params={"fresh": True}).json()
        assert (cached.pop("source"), live.pop("source")) == ("read-model", "live")
        assert close(cached, live), customer


def test_an_unknown_customer_is_a_404_and_a_bad_id_a_422(api) -> None:
    response = api.get("/api/customers/NOBODY")
    assert response.status_code == 404 and "NOBODY" in response.json()["detail"]
    assert api.get("/api/customers/a%00b").status_code == 422
    assert api.get("/api/customers/" + "x" * 129).status_code == 422


def test_reads_are_audited_by_key_without_the_customer_id(api, base, reader) -> None:
    customer = base.customers[7]
    api.get(f"/api/customers/{customer}")
    api.service.flush()
    log = reader.table("audit_log").to_pyarrow().to_pylist()
    mine = [row for row in log if row["actor"] == base.key_ids["admin"] and row["action"] == "customer_360_read"]
    assert any(row["target"] == api.service.ws.pseudonym(customer) for row in mine)
    assert not any(customer in (row["target"] or "") + row["details"] for row in log)


def test_a_360_is_the_same_and_audited_alike_whichever_way_the_key_is_presented(api, base, reader) -> None:
    """A key in X-API-Key is answered below the framework when the read model can; a bearer token or a
    refused key goes through the framework: the same bytes, the same audit entry, the same refusals."""
    customers = base.customers[5::40]
    ways = {"header": {"X-API-Key": base.keys["read"]},
            "bearer": {"Authorization": f"Bearer {base.keys['read']}", "X-API-Key": ""}}
    for customer in customers:
        answers = {way: api.get(f"/api/customers/{customer}", headers=headers) for way, headers in ways.items()}
        assert {way: (r.status_code, r.headers["content-type"]) for way, r in answers.items()} == {
            way: (200, "application/json") for way in ways}
        assert answers["header"].content == answers["bearer"].content, customer
        assert answers["header"].json()["source"] == "read-model"
    api.service.flush()
    log = reader.table("audit_log").to_pyarrow().to_pylist()
    reads = Counter(row["target"] for row in log
                    if row["actor"] == base.key_ids["read"] and row["action"] == "customer_360_read")
    assert all(reads[api.service.ws.pseudonym(c)] >= len(ways) for c in customers)
    for key, status in ((base.keys["write"], 403), (base.keys["revoked"], 401), ("sgk_nobody_x", 401)):
        assert api.get(f"/api/customers/{customers[0]}", headers={"X-API-Key": key}).status_code == status
    assert api.get(f"/api/customers/{customers[0]}/export", headers=ways["header"]).status_code == 403


def test_one_customers_features_by_their_rows_alone_are_the_batch_features(reader, base) -> None:
    """The live path runs the features SQL on one customer's rows in a private engine: for every customer
    (and for ids not in the base) it must give the row the whole-base query gives."""
    compiled = FeatureSQL(reader, AT)
    batch = {r["customer_id"]: r for r in reader.features(AT).to_pyarrow().to_pylist()}
    for customer in [*base.customers, "C-not-a-customer"]:
        found = compiled.one(reader, customer)
        assert found.schema == compiled.schema
        assert close(found.to_pylist(), [batch[customer]] if customer in batch else []), customer


def test_one_customers_360_loaded_alone_is_their_360_in_the_whole_read_model(reader, base) -> None:
    """A customer not in the read model (written since its build) is loaded alone: the same queries with
    the customer's filter where it speeds them up (audiences and consents grouped for that customer
    alone). Each customer's 360 (one in ten: a load takes a third of a second) must be the one the
    whole-base build gives."""
    compiled = FeatureSQL(reader, AT)
    whole = load(reader, AT)
    for customer in [*base.customers[::10], "C-not-a-customer"]:
        alone = load(reader, AT, customer, compiled).get(customer)
        expected = whole.get(customer)
        assert (alone is None) == (expected is None), customer
        if expected is not None:
            assert {k: v for k, v in alone.items() if k != "features"} == {k: v for k, v in expected.items() if k != "features"}
            assert close([alone["features"]], [expected["features"]]), customer
