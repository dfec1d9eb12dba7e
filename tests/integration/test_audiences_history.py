"""Membership history on a real DuckDB file: time alone moves people, and history stays consistent."""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import pytest
from audiences_support import YAML, members, open_shop, shop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmento
from segmento.config import parse_project

END_OF = lambda day: datetime.combine(day, time.max)  # noqa: E731


def tiny_shop(path: Path) -> segmento.Workspace:
    """Ada turns 41 on 15 July 2024; Bob's last order is on 1 April 2024."""
    ws = segmento.connect(path, parse_project(YAML, Path("segmento.yaml")))
    ws.ingest("customers", pd.DataFrame([
        {"customer_id": "ADA", "birth_date": "1983-07-15", "gender": "M", "signup_date": "2020-01-01"},
        {"customer_id": "BOB", "birth_date": "1990-01-01", "gender": "F", "signup_date": "2020-01-01"},
    ]))  # fmt: skip
    ws.ingest("orders", pd.DataFrame([{"order_id": "O1", "customer_id": "BOB", "ordered_at": "2024-04-01 18:00:00",
                                       "amount": 40.0, "channel": "web"}]))  # fmt: skip
    ws.ingest("events", pd.DataFrame([{"event_id": "E1", "customer_id": "ADA", "occurred_at": "2024-07-01 10:00:00",
                                       "type": "product_view", "channel": "web", "category": "tennis"}]))  # fmt: skip
    return ws


def intervals(ws: segmento.Workspace) -> list[tuple]:
    rows = ws.audiences.history().to_pyarrow().to_pylist()
    return [(r["customer_id"], r["audience"], r["entered_at"], r["exited_at"], r["enter_reason"], r["exit_reason"])
            for r in rows]  # fmt: skip


def test_time_alone_moves_people(tmp_path: Path) -> None:
    ws = tiny_shop(tmp_path / "tiny.duckdb")
    first = ws.refresh_audiences(date(2024, 6, 30))
    second = ws.refresh_audiences(date(2024, 7, 1))  # Bob: 91 days without an order
    third = ws.refresh_audiences(date(2024, 7, 15))  # Ada's 41st birthday
    d1, d2, d3 = END_OF(date(2024, 6, 30)), END_OF(date(2024, 7, 1)), END_OF(date(2024, 7, 15))
    assert intervals(ws) == [
        ("ADA", "men_30_40_tennis", d2, d3, f"refresh:{second.refresh_id}", f"refresh:{third.refresh_id}"),
        ("BOB", "inactive_3m", d2, None, f"refresh:{second.refresh_id}", None),
    ]
    assert (first.enters, second.enters, third.exits) == ({}, {"men_30_40_tennis": 1, "inactive_3m": 1},
                                                          {"men_30_40_tennis": 1})  # fmt: skip
    changes = ws.audiences.changes().to_pyarrow().to_pylist()
    assert [(c["seq"], c["customer_id"], c["audience"], c["kind"]) for c in changes] == [
        (1, "BOB", "inactive_3m", "enter"), (2, "ADA", "men_30_40_tennis", "enter"),
        (3, "ADA", "men_30_40_tennis", "exit"),
    ]  # fmt: skip
    assert len({c["change_id"] for c in changes}) == 3
    why = {(c["customer_id"], c["kind"]): c["why"] for c in changes}
    assert why[("ADA", "exit")] == "age 40 -> 41"  # the clause that changed, not refresh:<id>
    assert why[("BOB", "enter")] == "no order for 91 days"
    assert [(r["exit_why"]) for r in ws.audiences.history().to_pyarrow().to_pylist() if r["customer_id"] == "ADA"] == [
        "age 40 -> 41"]
    with pytest.raises(ValueError) as caught:
        ws.refresh_audiences(date(2024, 7, 2))
    assert str(caught.value) == (
        "cannot refresh as of 2024-07-02 23:59:59: history is already written up to 2024-07-15 23:59:59 and only "
        "moves forward (evaluate past dates with members(name, as_of))"
    )
    ws.close()


def test_a_dropped_audience_empties_at_the_next_refresh(tmp_path: Path) -> None:
    ws = tiny_shop(tmp_path / "drop.duckdb")
    ws.audiences.define("bobs", "orders_lifetime > 0", owner="test")
    ws.refresh_audiences(date(2024, 6, 30))
    ws.audiences.drop("bobs")
    report = ws.refresh_audiences(date(2024, 7, 1))
    assert report.exits == {"bobs": 1}
    [row] = [r for r in intervals(ws) if r[1] == "bobs"]
    assert row[5] == f"removed:{report.refresh_id}"
    ws.close()


# ---- property: any sequence of refreshes and events keeps history consistent ---------------

DATA = shop()
T0 = datetime(2024, 6, 1, 8, 0)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "shop.duckdb"
    open_shop(path, DATA).close()
    return path


operations = st.lists(
    st.one_of(
        st.tuples(st.just("refresh"), st.sampled_from([timedelta(hours=1), timedelta(days=20), timedelta(days=70)])),
        st.tuples(st.just("event"), st.sampled_from([timedelta(minutes=5), timedelta(days=2)]),
                  st.sampled_from([c["customer_id"] for c in DATA["customers"][:10]]),
                  st.sampled_from(["search", "product_view", "chatbot"]),
                  st.sampled_from(["hiking shoes", "tennis"])),
    ),
    min_size=2,
    max_size=7,
)


def replay(changes: list[dict]) -> set[tuple[str, str]]:
    """Membership by replaying enter/exit records in order, checking each one makes sense."""
    held: set[tuple[str, str]] = set()
    for change in changes:
        key = (change["customer_id"], change["audience"])
        assert (key in held) == (change["kind"] == "exit"), change
        held.symmetric_difference_update({key})
    return held


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_history_is_consistent(template: Path, tmp_path: Path, ops: list[tuple]) -> None:
    shutil.copy(template, tmp_path / "h.duckdb")
    ws = segmento.connect(tmp_path / "h.duckdb", parse_project(YAML, Path("segmento.yaml")))
    clock, last_refresh = T0, None
    try:
        ws.refresh_audiences(T0)
        for n, op in enumerate(ops):
            clock += op[1]
            if op[0] == "refresh":
                ws.refresh_audiences(clock)
                last_refresh = clock
            else:
                _, _, customer, kind, category = op
                ws.push_event({"event_id": f"H{n}", "customer_id": customer, "occurred_at": clock, "type": kind,
                               "channel": "web", "category": category, "size": "43"})  # fmt: skip
                last_refresh = None
        changes = ws.audiences.changes().to_pyarrow().to_pylist()
        assert [c["seq"] for c in changes] == list(range(1, len(changes) + 1))
        assert len({c["change_id"] for c in changes}) == len(changes)
        by_key: dict[tuple[str, str], list[tuple]] = defaultdict(list)
        for row in intervals(ws):
            by_key[row[:2]].append(row[2:4])
        for spans in by_key.values():
            for (start, end), (next_start, _) in zip(spans, spans[1:]):
                assert end is not None and start <= end <= next_start
            assert all(end is None or start <= end for start, end in spans)
        now = replay(changes)
        assert now == {tuple(r.values()) for r in ws.audiences.current().to_pyarrow().to_pylist()}
        assert now == {(c, a) for c, a, _, end, _, _ in intervals(ws) if end is None}
        if last_refresh is not None:  # right after a refresh, history says what a batch evaluation says
            expected = members(DATA | {"events": DATA["events"] + pushed(ops)}, last_refresh)
            assert now == {(c, a) for a, ids in expected.items() for c in ids}
    finally:
        ws.close()


def pushed(ops: list[tuple]) -> list[dict]:
    """The events the sequence pushed, as the oracle reads them."""
    clock, rows = T0, []
    for n, op in enumerate(ops):
        clock += op[1]
        if op[0] == "event":
            rows.append({"event_id": f"H{n}", "customer_id": op[2], "occurred_at": clock, "type": op[3],
                         "channel": "web", "category": op[4], "size": "43"})  # fmt: skip
    return rows


def test_why_names_event_and_audience_clauses_by_their_text(tmp_path: Path) -> None:
    ws = tiny_shop(tmp_path / "refs.duckdb")
    ws.audiences.define("bobs", "orders_lifetime > 0", owner="test")
    ws.audiences.define("bobs_browsing", "in_audience('bobs') AND viewed(within = '90d') AND age > 30", owner="test")
    ws.refresh_audiences(date(2024, 6, 30))
    ws.ingest("events", pd.DataFrame([{"event_id": "E9", "customer_id": "BOB", "occurred_at": "2024-07-01 09:00:00",
                                       "type": "product_view", "channel": "web", "category": "golf"}]))  # fmt: skip
    ws.refresh_audiences(date(2024, 7, 1))
    [change] = [c for c in ws.audiences.changes().to_pyarrow().to_pylist() if c["audience"] == "bobs_browsing"]
    assert change["customer_id"] == "BOB" and change["kind"] == "enter"
    # clauses on events and audiences are named by their text; a feature clause only when it flipped (not age)
    assert change["why"] == "in_audience('bobs') now true; viewed(within = '90d') now true"
    ws.close()


def test_why_writes_figures_for_people_and_explains_many_audiences_at_once(tmp_path: Path) -> None:
    """Amounts rounded, lists and yes/no in words, one line per change however many audiences moved together
    (the features are read once for all of them)."""
    ws = tiny_shop(tmp_path / "figures.duckdb")
    ws.ingest("orders", pd.DataFrame([{"order_id": "O2", "customer_id": "ADA", "ordered_at": "2024-06-02 18:00:00",
                                       "amount": 100.0 / 3, "channel": "web"}]))  # fmt: skip
    ws.audiences.define("baskets", "avg_basket > 30", owner="test")
    ws.audiences.define("tennis_fans", "'tennis' IN interests_90d", owner="test")
    ws.audiences.define("buyers", "orders_lifetime >= 1 AND avg_basket > 20", owner="test")
    ws.refresh_audiences(date(2024, 6, 1))
    ws.refresh_audiences(date(2024, 7, 2))
    why = {(c["customer_id"], c["audience"]): c["why"] for c in ws.audiences.changes().to_pyarrow().to_pylist()}
    assert why[("ADA", "baskets")] == "avg_basket 33.3"  # not 33.333333333333336
    assert why[("BOB", "baskets")] == "avg_basket 40"
    assert why[("ADA", "tennis_fans")] == "interests_90d — -> tennis"  # a list in words, not ['tennis']
    assert why[("ADA", "buyers")] == "orders_lifetime 0 -> 1; avg_basket 33.3"
    ws.close()
