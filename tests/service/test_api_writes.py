"""Events and orders over HTTP: recorded, memberships updated in real time with the
changes in the response (and the same answer as a batch evaluation), bad input refused
with a 422 that names the field, nothing lost, every write audited."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pyarrow as pa

from service_support import END, close

from segmento.audiences.service import Audiences


def event(event_id: str, customer: str, **fields: object) -> dict:
    return {"event_id": event_id, "customer_id": customer, "occurred_at": f"{END}T12:00:00", "type": "page_view",
            "channel": "web", **fields}


def members(api, audience: str) -> set[str]:
    page = api.get(f"/api/audiences/{audience}/members", params={"size": 1000}).json()
    return {row["customer_id"] for row in page["items"]}


def test_an_event_returns_the_changes_it_caused_and_batch_evaluation_agrees(api, base, reader) -> None:
    customer = next(c for c in base.customers if c not in members(api, "tennis_browsers"))
    writer = {"X-API-Key": base.keys["write"]}
    response = api.post("/api/events", json=event("svc-e1", customer, type="product_view", category="tennis"),
                        headers=writer)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["status"], result["realtime"], result["id"]) == ("accepted", True, "svc-e1")
    assert [(c["audience"], c["kind"], c["customer_id"]) for c in result["changes"]] == [
        ("tennis_browsers", "enter", customer)
    ]
    assert result["changes"][0]["reason"] == "event:svc-e1"

    profile = api.get(f"/api/customers/{customer}").json()
    assert profile["source"] == "live" and "tennis_browsers" in profile["audiences"]
    fresh = api.get(f"/api/customers/{customer}", params={"fresh": True}).json()
    assert close(profile, fresh)  # the written parts read again over the read model == every part read again
    assert customer in members(api, "tennis_browsers")
    batch = Audiences(reader.con, reader.project).members("tennis_browsers", END).to_pyarrow().column(0).to_pylist()
    assert customer in batch


def test_a_batch_gives_each_event_its_status(api, base, reader) -> None:
    customer = next(c for c in base.customers if c not in members(api, "recent_contacts"))
    batch = [event("svc-b1", customer), event("svc-b2", "NOBODY"),
             event("svc-b3", customer, type="call", channel="phone")]
    response = api.post("/api/events/batch", json={"events": batch}, headers={"X-API-Key": base.keys["write"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["changes"]) == (2, 1, 1)
    statuses = [(r["id"], r["status"]) for r in body["results"]]
    assert statuses == [("svc-b1", "accepted"), ("svc-b2", "rejected"), ("svc-b3", "accepted")]
    assert "unknown customer_id 'NOBODY'" in body["results"][1]["error"]
    assert [(c["audience"], c["kind"]) for c in body["results"][2]["changes"]] == [("recent_contacts", "enter")]
    held = reader.table("events")
    stored = held.filter(held.event_id.isin(["svc-b1", "svc-b2", "svc-b3"])).event_id.to_pyarrow().to_pylist()
    assert sorted(stored) == ["svc-b1", "svc-b3"]


def test_the_same_event_twice_is_recorded_once(api, base, reader) -> None:
    first = api.post("/api/events", json=event("svc-twice", base.customers[5]))
    again = api.post("/api/events", json=event("svc-twice", base.customers[5]))
    assert first.status_code == again.status_code == 200
    assert again.json()["changes"] == []
    held = reader.table("events")
    assert held.filter(held.event_id == "svc-twice").count().execute() == 1


def test_bad_events_are_refused_naming_the_field(api, base) -> None:
    customer = base.customers[0]
    future = (datetime.now() + timedelta(days=3)).isoformat(timespec="seconds")
    cases = {
        "type": event("x1", customer, type="teleport"),
        "occurred_at": event("x2", customer, occurred_at="2024-12-31T12:00:00+02:00"),
        "colour": event("x3", customer, colour="red"),
        "customer_id": {k: v for k, v in event("x5", customer).items() if k != "customer_id"},
        "event_id": event("x\x00", customer),
    }
    for field, body in cases.items():
        response = api.post("/api/events", json=body)
        assert response.status_code == 422, (field, response.text)
        assert [field] == [e["loc"][-1] for e in response.json()["detail"]], response.text
    response = api.post("/api/events", json=event("x4", customer, occurred_at=future))
    assert response.status_code == 422 and "and now" in response.text
    assert api.post("/api/events", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 422
    assert api.post("/api/events/batch", json={"events": []}).status_code == 422


def test_an_order_is_ingested_once_and_shows_in_the_360(api, base, reader) -> None:
    customer = base.customers[11]
    before = api.get(f"/api/customers/{customer}").json()["features"]
    order = {"order_id": "svc-o1", "customer_id": customer, "ordered_at": f"{END}T15:30:00", "amount": 90.5,
             "channel": "web", "lines": [{"line_no": 1, "product_id": "P-1", "category": "tennis", "quantity": 1,
                                          "unit_price": 90.5, "promo": False}]}
    writer = {"X-API-Key": base.keys["write"]}
    first = api.post("/api/orders", json=order, headers=writer)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["realtime"]) == ("accepted", False)
    assert api.post("/api/orders", json=order, headers=writer).json()["status"] == "duplicate"
    profile = api.get(f"/api/customers/{customer}").json()
    assert close(profile, api.get(f"/api/customers/{customer}", params={"fresh": True}).json())
    after = profile["features"]
    assert after["orders_lifetime"] == before["orders_lifetime"] + 1
    assert abs(after["spend_lifetime"] - before["spend_lifetime"] - 90.5) < 1e-6
    lines = reader.table("order_lines")
    assert lines.filter(lines.order_id == "svc-o1").count().execute() == 1


def test_an_order_the_base_refuses_is_a_422_and_kept_in_quarantine(api, reader) -> None:
    order = {"order_id": "svc-o2", "customer_id": "NOBODY", "ordered_at": f"{END}T10:00:00", "amount": 10,
             "channel": "store", "lines": []}
    response = api.post("/api/orders", json=order)
    assert response.status_code == 422 and "unknown customer_id 'NOBODY'" in response.json()["detail"]
    quarantine = reader.table("quarantine")
    assert quarantine.filter(quarantine.raw.contains("svc-o2")).count().execute() == 1
    bad = {**order, "customer_id": "C1", "amount": float("inf")}
    assert api.post("/api/orders", content=str(bad).replace("inf", "1e999").replace("'", '"').replace("None", "null"),
                    headers={"Content-Type": "application/json"}).status_code == 422
    lines = [{"line_no": 1, "product_id": "p", "category": "c", "quantity": 1, "unit_price": 1}] * 2
    assert api.post("/api/orders", json={**order, "lines": lines}).status_code == 422


def test_order_writes_are_idempotent_by_key(api, base, reader) -> None:
    refused = {"order_id": "svc-o3", "customer_id": "NOBODY", "ordered_at": f"{END}T10:00:00", "amount": 10,
               "channel": "store", "lines": []}
    answers = [api.post("/api/orders", json=refused) for _ in range(3)]
    assert [a.status_code for a in answers] == [422, 422, 422]
    assert len({a.json()["detail"] for a in answers}) == 1
    good = {**refused, "order_id": "svc-o4", "customer_id": base.customers[12]}
    batch = {"orders": [refused, good]}
    statuses = [[r["status"] for r in api.post("/api/orders/batch", json=batch).json()["results"]] for _ in range(3)]
    assert statuses == [["rejected", "accepted"], ["rejected", "duplicate"], ["rejected", "duplicate"]]
    orders = reader.table("orders")
    assert orders.filter(orders.order_id.isin(["svc-o3", "svc-o4"])).order_id.to_pyarrow().to_pylist() == ["svc-o4"]


def test_an_order_the_knowledge_base_refuses_whole_is_a_422_not_a_500(api, base, reader) -> None:
    """Another currency than the stored one, with no rates, refuses the run: the client is told, twice the same."""
    order = {"order_id": "svc-o5", "customer_id": base.customers[13], "ordered_at": f"{END}T10:00:00", "amount": 10,
             "channel": "store", "currency": "AAA", "lines": []}
    answers = [api.post("/api/orders", json=order) for _ in range(2)]
    assert [a.status_code for a in answers] == [422, 422]
    assert "currenc" in answers[0].json()["detail"] and answers[0].json() == answers[1].json()
    orders = reader.table("orders")
    assert orders.filter(orders.order_id == "svc-o5").count().to_pyarrow().as_py() == 0


def test_writes_are_audited_under_the_writing_key(api, base, reader) -> None:
    api.post("/api/events", json=event("svc-audit", base.customers[2]), headers={"X-API-Key": base.keys["write"]})
    api.service.flush()
    log = reader.table("audit_log")
    rows = log.filter((log.actor == base.key_ids["write"]) & (log.action == "events_write")).to_pyarrow().to_pylist()
    assert rows and all(base.customers[2] not in row["details"] for row in rows)


def test_an_event_neither_rebuilds_the_read_model_nor_recomputes_the_pages_but_another_write_does(api, base) -> None:
    """Events are followed customer by customer: rebuilding the model or the dashboard pages after each one
    stalled the next events. A write that is not followed that way (a consent loaded) rebuilds the model."""
    deadline = time.monotonic() + 120
    while api.get("/health").json()["dashboard"] != "ready":
        assert time.monotonic() < deadline, "the dashboard pages were not computed ahead in time"
        time.sleep(0.1)
    service = api.service
    model, pages = service.profiles.model, {key: id(value) for key, (_, value) in service.results.items()}
    writer = {"X-API-Key": base.keys["write"]}
    customer, other = base.customers[21], base.customers[22]
    for i in range(3):
        assert api.post("/api/events", json=event(f"svc-quiet-{i}", customer), headers=writer).status_code == 200
        time.sleep(service.refresh_seconds * 3)  # background rounds: freshness checks, audit flushes
        assert api.get("/health").json()["dashboard"] == "ready"
    assert service.profiles.model is model
    assert {key: id(value) for key, (_, value) in service.results.items()} == pages
    assert api.get(f"/api/customers/{customer}").json()["source"] == "live"  # its own write, read again

    consent = pa.table({"customer_id": [other], "channel": ["sms"], "purpose": ["marketing"], "granted": [True],
                        "recorded_at": [datetime(2024, 6, 1)], "source": ["test"]})
    with service.writer() as ws:
        ws.ingest("consents", consent)
    while service.profiles.model is model:
        assert time.monotonic() < deadline + 60, "a consent loaded did not rebuild the read model"
        time.sleep(0.1)
    profile = api.get(f"/api/customers/{other}").json()
    assert profile["source"] == "read-model"
    assert ("sms", "marketing", True) in {(c["channel"], c["purpose"], c["granted"]) for c in profile["consents"]}
