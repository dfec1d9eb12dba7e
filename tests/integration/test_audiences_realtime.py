"""Real time on a real DuckDB file: batch == real time after any sequence of events.

Each example copies a shop whose memberships were refreshed as of T0, pushes random
events through ``ws.push_event``, checks after every event that the returned changes are
exactly the difference in the customer's memberships, and at the end that the last event's
customer holds what a batch evaluation gives as of that instant. (Others were evaluated at
their own last event; time alone moves them only at a refresh.) Every prefix of a sequence
is itself a sequence hypothesis draws, so intermediate states are checked too; one batch
evaluation per example keeps hundreds of examples affordable (marked ``slow``:
``pytest -m "not slow"`` skips them while iterating).
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from audiences_support import NAMES, WINDOWED_YAML, YAML, open_shop, shop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmento
from segmento.audiences import EventError
from segmento.store import slices
from segmento.config import parse_project

DATA = shop()
T0 = datetime(2024, 6, 1, 8, 0)
CUSTOMERS = [c["customer_id"] for c in DATA["customers"]]


def _template(factory: pytest.TempPathFactory, yaml: str) -> Path:
    path = factory.mktemp("realtime") / "shop.duckdb"
    ws = open_shop(path, DATA, yaml)
    ws.refresh_audiences(T0)
    ws.close()
    return path


@pytest.fixture()
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """The day's static features of the whole base read in slices of 7 customers, as 1M are in slices of 250k
    (not in the property tests: a query per slice per day of each example)."""
    monkeypatch.setattr(slices, "CUSTOMERS_PER_SLICE", 7)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _template(tmp_path_factory, YAML)


@pytest.fixture(scope="module")
def windowed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop refreshed with every event count in a window (the copy keeps only recent events)."""
    return _template(tmp_path_factory, WINDOWED_YAML)


def fresh(template: Path, target: Path, yaml: str = YAML) -> segmento.Workspace:
    shutil.copy(template, target)
    return segmento.connect(target, parse_project(yaml, Path("segmento.yaml")))


def held(ws: segmento.Workspace, customer: str) -> set[str]:
    table = ws.audiences.current()
    return set(table.filter(table.customer_id == customer).audience.to_pyarrow().to_pylist())


def batch(ws: segmento.Workspace, customer: str, at: datetime) -> set[str]:
    table = ws.audiences.evaluate(at)
    return set(table.filter(table.customer_id == customer).audience.to_pyarrow().to_pylist())


# mostly within a day (the features' SQL is compiled once per day), sometimes across windows
gaps = st.sampled_from([timedelta(minutes=3), timedelta(minutes=40), timedelta(hours=5), timedelta(days=1),
                        timedelta(days=31), timedelta(days=95)])  # fmt: skip
events = st.lists(
    st.fixed_dictionaries(
        {
            "customer_id": st.sampled_from(CUSTOMERS[:12]),
            "type": st.sampled_from(["search", "product_view", "page_view", "chatbot", "email_open", "email_sent"]),
            "channel": st.sampled_from(["web", "app"]),
            "category": st.sampled_from(["hiking shoes", "tennis", "golf", None]),
            "size": st.sampled_from(["43", "42", None]),
            "gap": gaps,
            "late": st.booleans(),
        }
    ),
    min_size=1,
    max_size=5,
)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("RT_EXAMPLES", 200)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=events)
def test_batch_equals_real_time_after_any_sequence(template: Path, tmp_path: Path, sequence: list[dict]) -> None:
    check_sequence(fresh(template, tmp_path / "rt.duckdb"), sequence)


@pytest.mark.slow
@settings(max_examples=int(os.environ.get("RT_EXAMPLES", 200)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=events)
def test_batch_equals_real_time_with_a_copy_of_recent_events_only(windowed: Path, tmp_path: Path,
                                                                  sequence: list[dict]) -> None:
    """Every count in a window: the copy leaves out events older than the longest (interests_90d),
    and memberships are still what the batch gives, across gaps longer than every window."""
    check_sequence(fresh(windowed, tmp_path / "rt.duckdb", WINDOWED_YAML), sequence)


def check_sequence(ws: segmento.Workspace, sequence: list[dict]) -> None:
    """Push the events (gaps and lateness drawn) and check each event's changes, then batch == real time."""
    try:
        clock, written = T0, T0  # the refresh wrote history as of T0
        for n, item in enumerate(sequence):
            clock += item.pop("gap")
            late = item.pop("late")
            # a late event happened before the last instant evaluated: it is evaluated then
            occurred = clock - timedelta(hours=2) if late else clock
            at = written = max(occurred, written)
            customer = item["customer_id"]
            before = held(ws, customer)
            changes = ws.push_event({**item, "event_id": f"RT{n}", "occurred_at": occurred})
            after = held(ws, customer)
            assert {(c.audience, c.kind) for c in changes} == (
                {(a, "enter") for a in after - before} | {(a, "exit") for a in before - after}
            )
            assert all(c.at == at and c.reason == f"event:RT{n}" for c in changes)
        assert held(ws, customer) == batch(ws, customer, written)
    finally:
        ws.close()


def test_an_event_moves_the_customer_at_once(template: Path, tmp_path: Path) -> None:
    ws = fresh(template, tmp_path / "one.duckdb")
    ws.audiences.warm(T0 + timedelta(hours=1))  # what a service does at start, and at midnight
    customer = next(c for c in CUSTOMERS if "hiking_43" not in held(ws, c))
    at = T0 + timedelta(hours=3)
    changes = ws.push_event({"event_id": "S1", "customer_id": customer, "occurred_at": at, "type": "search",
                             "channel": "web", "category": "hiking shoes", "size": 43})  # fmt: skip
    assert [(c.customer_id, c.audience, c.kind, c.at, c.reason) for c in changes] == [
        (customer, "hiking_43", "enter", at, "event:S1")
    ]
    assert ws.push_event({"event_id": "S1", "customer_id": customer, "occurred_at": at, "type": "search",
                          "channel": "web", "category": "hiking shoes", "size": "43"}) == []  # a repeat  # fmt: skip
    assert ws.table("events").filter(ws.table("events").event_id == "S1").count().execute() == 1
    assert "hiking_43" in held(ws, customer)
    ws.close()


EVENT = {"event_id": "V1", "customer_id": "C001", "occurred_at": "2024-06-02T10:00:00", "type": "search",
         "channel": "web"}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "event 'V1': unknown field 'colour'; valid fields: event_id, customer_id, occurred_at, "
                            "type, channel, category, size, campaign_id, properties"),
        ({"event_id": None}, "event: missing required value 'event_id'"),
        ({"type": None}, "event 'V1': missing required value 'type'"),
        ({"type": "serch"}, "event 'V1': type 'serch' is not one of page_view, product_view, search, add_to_cart, "
                            "email_sent, email_open, email_click, chatbot, call, selfcare, social, campaign_response"),
        ({"occurred_at": "yesterday"}, "event 'V1': occurred_at 'yesterday' is not an ISO timestamp "
                                       "(2024-05-01T10:30:00)"),
        ({"occurred_at": "2024-06-02T10:00:00+02:00"},
         "event 'V1': occurred_at must have no time zone, like the knowledge base's timestamps"),
        ({"category": ["tennis"]}, "event 'V1': category must be text, not list"),
        ({"occurred_at": "2999-01-01T00:00:00"}, "event 'V1': occurred_at 2999-01-01 00:00:00 is in the future"),
        ({"customer_id": "C999"}, "event 'V1': unknown customer_id 'C999' (not in customers)"),
    ],
)
def test_bad_events_are_refused_with_the_field_at_fault(template: Path, tmp_path: Path, change: dict,
                                                      message: str) -> None:  # fmt: skip
    ws = fresh(template, tmp_path / "bad.duckdb")
    try:
        with pytest.raises(EventError) as caught:
            ws.push_event({**EVENT, **change})
        assert str(caught.value) == message
        assert ws.table("events").count().execute() == len(DATA["events"])
    finally:
        ws.close()


def test_an_ingestion_meanwhile_is_seen_by_the_next_event(template: Path, tmp_path: Path) -> None:
    """The in-memory copy notices the base changed and reads it again."""
    import pandas as pd

    ws = fresh(template, tmp_path / "ingest.duckdb")
    ws.push_event({**EVENT, "event_id": "W1"})
    ws.ingest("customers", pd.DataFrame([{"customer_id": "NEW", "signup_date": "2024-01-01", "gender": "M"}]))
    at = T0 + timedelta(days=2)
    for k in range(2):
        ws.push_event({"event_id": f"N{k}", "customer_id": "NEW", "occurred_at": at + timedelta(minutes=k),
                       "type": "product_view", "channel": "web"})  # fmt: skip
    assert held(ws, "NEW") == {"curious"} == batch(ws, "NEW", at + timedelta(minutes=1))
    ws.close()


def test_reads_in_the_audit_log_keep_the_copy_and_an_erasure_renews_it(template: Path, tmp_path: Path) -> None:
    """The service records reads in the audit log every few seconds: that is no change of the base.
    An erasure is, and the erased customer is unknown to the next event."""
    from segmento.store.gdpr import audit

    ws = fresh(template, tmp_path / "audit.duckdb")
    ws.push_event({**EVENT, "event_id": "A1"})
    copy = ws.audiences.realtime.replica
    audit(ws.con, "key-1", "customer_360_read", "customer:x")
    ws.push_event({**EVENT, "event_id": "A2", "occurred_at": "2024-06-02T11:00:00"})
    assert ws.audiences.realtime.replica is copy
    gone = next(c for c in CUSTOMERS if c != EVENT["customer_id"])
    ws.forget(gone, compact=False)
    ws.push_event({**EVENT, "event_id": "A3", "occurred_at": "2024-06-02T12:00:00"})
    assert ws.audiences.realtime.replica is not copy
    with pytest.raises(EventError, match="unknown customer_id"):
        ws.push_event({**EVENT, "event_id": "A4", "customer_id": gone, "occurred_at": "2024-06-02T13:00:00"})
    ws.close()


def test_a_row_stamped_since_midnight_is_seen(tmp_path: Path, small_slices: None) -> None:
    """Static features come from the day's batch unless one of the customer's rows is newer than midnight."""
    import pandas as pd

    ws = segmento.connect(tmp_path / "midnight.duckdb", parse_project(YAML, Path("segmento.yaml")))
    ws.ingest("customers", pd.DataFrame([{"customer_id": "BOB", "gender": "M", "signup_date": "2020-01-01"}]))
    ws.ingest("orders", pd.DataFrame([
        {"order_id": "O1", "customer_id": "BOB", "ordered_at": "2024-04-01 18:00:00", "amount": 40.0, "channel": "web"},
        {"order_id": "O2", "customer_id": "BOB", "ordered_at": "2024-07-10 10:00:00", "amount": 90.0, "channel": "web"},
    ]))  # fmt: skip
    seen = []
    for n, hour in enumerate((9, 11)):
        at = datetime(2024, 7, 10, hour)
        ws.push_event({"event_id": f"M{n}", "customer_id": "BOB", "occurred_at": at, "type": "search",
                       "channel": "web"})  # fmt: skip
        seen.append(held(ws, "BOB"))
        assert seen[-1] == batch(ws, "BOB", at)
    assert seen == [{"inactive_3m"}, set()]  # the 10:00 order ends 100 days without an order
    assert ws.audiences.realtime.features.recomputed == 1
    ws.close()


def test_names_are_the_declared_audiences() -> None:
    assert [a.name for a in parse_project(YAML).audiences] == NAMES


def test_the_copy_holds_no_event_ids_and_an_event_already_in_the_base_is_a_repeat(template: Path, tmp_path: Path) -> None:
    ws = fresh(template, tmp_path / "narrow.duckdb")
    stored = ws.table("events").limit(1).to_pyarrow().to_pylist()[0]
    ws.audiences.warm(T0 + timedelta(hours=1))
    copy = ws.audiences.realtime.replica.tables
    assert "event_id" not in copy["events"].column_names  # a 4-byte hash per event instead of the id
    again = {k: stored[k] for k in ("event_id", "customer_id", "occurred_at", "type", "channel", "category")}
    assert ws.push_event(again) == []
    assert ws.table("events").filter(ws.table("events").event_id == stored["event_id"]).count().execute() == 1
    ws.close()


def test_the_copy_holds_recent_events_and_what_events_read_and_no_more(template: Path, windowed: Path,
                                                                       tmp_path: Path, small_slices: None) -> None:
    """Memory grows with the rules' windows, not with the history: with every count in a window the
    copy holds the events since the longest one starts at the clock (interests_90d as of T0) and
    none of the tables only the day's batch reads (orders, consents); a count over the whole history
    keeps every event."""
    ws = fresh(windowed, tmp_path / "windowed.duckdb", WINDOWED_YAML)
    ws.audiences.warm(T0 + timedelta(hours=1))
    copy = ws.audiences.realtime.replica
    assert set(copy.tables) == {"customers", "events"}
    kept = copy.tables["events"].column("occurred_at").to_pylist()
    since = datetime(2024, 3, 4)  # the 90 calendar days ending on T0's day
    assert min(kept) >= since and len(kept) == sum(e["occurred_at"] >= since for e in DATA["events"]) < len(DATA["events"])
    at = T0 + timedelta(hours=1)
    for n, customer in enumerate(CUSTOMERS):  # an event no rule counts: each customer evaluated on the copy
        ws.push_event({"event_id": f"X{n}", "customer_id": customer, "occurred_at": at, "type": "email_sent",
                       "channel": "email"})  # fmt: skip
    pairs = lambda table: {(r["customer_id"], r["audience"]) for r in table.to_pyarrow().to_pylist()}  # noqa: E731
    assert pairs(ws.audiences.current()) == pairs(ws.audiences.evaluate(at))
    ws.close()
    ws = fresh(template, tmp_path / "lifetime.duckdb")
    ws.audiences.warm(T0 + timedelta(hours=1))
    assert ws.audiences.realtime.replica.tables["events"].num_rows == len(DATA["events"])
    ws.close()


def test_an_event_before_the_copy_is_evaluated_on_a_copy_that_covers_it(tmp_path: Path) -> None:
    """With no history yet, a copy warmed months later does not reach back to an event of T0: the event
    is evaluated on a copy read again from its own instant, as the batch would evaluate it."""
    ws = open_shop(tmp_path / "floor.duckdb", DATA, WINDOWED_YAML)
    at = T0 + timedelta(hours=2)
    members = ws.audiences.evaluate(at).to_pyarrow().to_pylist()
    customer = next(m["customer_id"] for m in members if m["audience"] in ("hiking_43", "curious", "men_30_40_tennis"))
    ws.audiences.warm(T0 + timedelta(days=120))
    ws.push_event({"event_id": "F1", "customer_id": customer, "occurred_at": at, "type": "email_sent",
                   "channel": "email"})  # fmt: skip
    assert ws.audiences.realtime.replica.floor == at
    assert held(ws, customer) == batch(ws, customer, at) == {m["audience"] for m in members if m["customer_id"] == customer}
    ws.close()


def test_a_repeat_of_an_event_older_than_every_window_is_a_repeat(windowed: Path, tmp_path: Path) -> None:
    ws = fresh(windowed, tmp_path / "old.duckdb", WINDOWED_YAML)
    old = min(DATA["events"], key=lambda e: e["occurred_at"])
    assert ws.push_event(old) == []
    assert ws.table("events").filter(ws.table("events").event_id == old["event_id"]).count().execute() == 1
    ws.close()


def test_an_order_ingested_here_keeps_the_copy_and_is_seen_by_the_next_event(template: Path, tmp_path: Path,
                                                                           small_slices: None) -> None:
    """An order sent through this process (the API's path) is an ingestion run: the copy stays, and the
    buyers' static features are read from their rows, for an order of this morning as for a late one."""
    import pandas as pd

    ws = fresh(template, tmp_path / "order.duckdb")
    ws.audiences.warm(T0 + timedelta(hours=1))
    copy = ws.audiences.realtime.replica
    buyer, late, other = [c for c in CUSTOMERS if "vip" not in held(ws, c) and c != "C000"][:3]
    ws.ingest("orders", pd.DataFrame([
        {"order_id": "NEW1", "customer_id": buyer, "ordered_at": "2024-06-01 09:00:00", "amount": 700.0, "channel": "web"},
        {"order_id": "NEW2", "customer_id": late, "ordered_at": "2024-05-28 18:00:00", "amount": 700.0, "channel": "web"},
    ]))  # fmt: skip
    for n, customer in enumerate((buyer, late, other)):
        at = T0 + timedelta(hours=2, minutes=n)
        ws.push_event({"event_id": f"O{n}", "customer_id": customer, "occurred_at": at, "type": "email_sent",
                       "channel": "email"})  # fmt: skip
        assert held(ws, customer) == batch(ws, customer, at)
    assert "vip" in held(ws, buyer) and "vip" in held(ws, late) and "vip" not in held(ws, other)
    assert ws.audiences.realtime.replica is copy
    ws.ingest("events", pd.DataFrame([{"event_id": "B1", "customer_id": other, "occurred_at": "2024-06-01 09:30:00",
                                       "type": "page_view", "channel": "app"}]))  # fmt: skip
    ws.push_event({"event_id": "O9", "customer_id": other, "occurred_at": T0 + timedelta(hours=3), "type": "email_sent",
                   "channel": "email"})  # fmt: skip
    assert ws.audiences.realtime.replica is not copy  # events are copied: read again
    assert held(ws, other) == batch(ws, other, T0 + timedelta(hours=3))
    ws.close()
