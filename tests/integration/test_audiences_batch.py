"""Batch evaluation on a real DuckDB file, as of many dates, against the hand-written oracle."""

from __future__ import annotations

from datetime import date, datetime, time

import pandas as pd
import pytest
from audiences_support import NAMES, members, open_shop, shop

DATA = shop()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory):
    workspace = open_shop(tmp_path_factory.mktemp("batch") / "shop.duckdb", DATA)
    yield workspace
    workspace.close()


def grouped(rows: list[dict]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {name: set() for name in NAMES}
    for row in rows:
        found[row["audience"]].add(row["customer_id"])
    return found


AS_OF = [
    date(2023, 6, 30),
    date(2024, 1, 15),
    date(2024, 2, 28),  # the 29 February birthday is not reached yet
    date(2024, 3, 1),
    datetime(2024, 4, 10, 9, 30),
    date(2024, 6, 30),
    datetime(2024, 8, 1, 0, 0),
    date(2024, 9, 30),
    date(2025, 1, 31),
]


@pytest.mark.parametrize("as_of", AS_OF, ids=str)
def test_every_audience_matches_the_oracle(ws, as_of: date | datetime) -> None:
    at = as_of if isinstance(as_of, datetime) else datetime.combine(as_of, time.max)
    expected = members(DATA, at)
    assert grouped(ws.audiences.evaluate(as_of).to_pyarrow().to_pylist()) == expected
    assert any(expected.values())  # the shop is not trivially empty


def test_members_of_one_audience_and_its_references(ws) -> None:
    at = date(2024, 6, 30)
    expected = members(DATA, datetime.combine(at, time.max))
    got = set(ws.audience_members("email_vips", at).to_pyarrow().column("customer_id").to_pylist())
    assert got == expected["email_vips"] and got <= expected["vip"]


def test_nothing_after_the_as_of_instant_is_seen(ws) -> None:
    """An event one microsecond after D changes nothing as of D, and counts from D + 1 µs."""
    at = datetime(2024, 5, 20, 12, 0)
    before = grouped(ws.audiences.evaluate(at).to_pyarrow().to_pylist())
    customer = next(c["customer_id"] for c in DATA["customers"] if c["signup_date"] <= at.date())
    late = {"event_id": "LATE", "customer_id": customer, "occurred_at": at.replace(microsecond=1), "type": "search",
            "channel": "web", "category": "hiking shoes", "size": "43"}  # fmt: skip
    ws.ingest("events", pd.DataFrame([late]))
    try:
        assert grouped(ws.audiences.evaluate(at).to_pyarrow().to_pylist()) == before
        after = grouped(ws.audiences.evaluate(at.replace(microsecond=1)).to_pyarrow().to_pylist())
        assert customer in after["hiking_43"]
    finally:
        ws.con.raw_sql("DELETE FROM events WHERE event_id = 'LATE'")


def test_guidance_sizes_overlaps_and_warnings(ws) -> None:
    at = date(2024, 6, 30)
    expected = members(DATA, datetime.combine(at, time.max))
    found = ws.audience_guidance(at)
    assert found.sizes == {name: len(ids) for name, ids in expected.items()}
    assert found.overlaps.loc["vip", "email_vips"] == len(expected["vip"] & expected["email_vips"])
    base = sum(1 for c in DATA["customers"] if c["signup_date"] <= at)
    assert found.base == base
    tiny = {w.audience for w in found.warnings if w.kind == "tiny"}
    assert tiny == {n for n, ids in expected.items() if 0 < len(ids) < 30}


def test_as_of_accepts_iso_text(ws) -> None:
    """as_of accepts ISO text like the CLI passes it."""
    assert grouped(ws.audiences.evaluate("2024-06-30").to_pyarrow().to_pylist()) == members(
        DATA, datetime(2024, 6, 30, 23, 59, 59, 999999)
    )
