"""Real time with audiences on predictive traits: an event is evaluated against the same p_alive
and CLV as a batch evaluation at that instant (the traits' scores are read whole, not per customer)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

import segmento
from segmento.config import parse_project
from segmento.demo import generate

END = date(2024, 8, 31)
PROJECT = """
audiences:
  - name: valuable-at-risk
    rule: "p_alive < 0.5 AND clv_12m >= 100"
  - name: likely-to-buy-and-browsing
    rule: "p_alive >= 0.5 AND viewed(within = '30d')"
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory):
    data = generate(customers=400, months=18, seed=5, end=END)
    workspace = segmento.connect(tmp_path_factory.mktemp("rt-predictive") / "shop.duckdb", parse_project(PROJECT))
    for name in ("customers", "orders", "order_lines", "events", "consents"):
        workspace.ingest(name, getattr(data, name))
    workspace.fit_predictive(date(2024, 6, 30))
    workspace.refresh_audiences(datetime(2024, 8, 1, 9))
    yield workspace
    workspace.close()


def test_events_on_predictive_audiences_agree_with_batch(ws: segmento.Workspace) -> None:
    orders = ws.table("orders")
    customers = sorted(set(orders.customer_id.to_pyarrow().to_pylist()))
    for n, customer in enumerate(customers[:25]):
        at = datetime(2024, 8, 2, 10, n)
        ws.push_event({"event_id": f"P{n}", "customer_id": customer, "occurred_at": at, "type": "product_view",
                       "channel": "web", "category": "tennis"})
        held = ws.audiences.current()
        batch = ws.audiences.evaluate(at)
        now = set(held.filter(held.customer_id == customer).audience.to_pyarrow().to_pylist())
        assert now == set(batch.filter(batch.customer_id == customer).audience.to_pyarrow().to_pylist())
    # the traits really decide: both audiences have members among the customers seen
    members = ws.audiences.current().audience.value_counts().to_pyarrow().to_pylist()
    assert {row["audience"] for row in members} == {"valuable-at-risk", "likely-to-buy-and-browsing"}
