"""Small knowledge bases for feature tests: hypothesis strategies, loading, comparing."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import pyarrow as pa
from hypothesis import strategies as st

from segmento.store.schema import CONSENT_CHANNELS, EVENT_TYPES, TABLES

CUSTOMER_IDS = ["c0", "c1", "c2", "c3"]
CATEGORIES = ["tennis", "Tennis", "hiking shoes", "golf", "ski-wear"]
LATE_CATEGORY = "late_only"
TIMES = [time(0, 0), time(0, 0, 0, 1), time(9, 30), time(23, 59, 59, 999999)]


def load(con, data: dict[str, list[dict]]) -> None:  # noqa: ANN001 - any Ibis backend
    """Replace the knowledge base's content with ``data`` (rows as dicts)."""
    for name in TABLES:
        con.truncate_table(name)
        rows = data.get(name, [])
        if rows:
            con.insert(name, pa.Table.from_pylist(rows, schema=TABLES[name].schema.to_pyarrow()))


def rows_by_customer(table: pa.Table) -> dict[str, dict]:
    return {row.pop("customer_id"): row for row in table.to_pylist()}


def assert_same(actual: dict[str, dict], expected: dict[str, dict]) -> None:
    """Equal row by row; floats to 1e-9 relative."""
    assert sorted(actual) == sorted(expected)
    for cid, row in expected.items():
        got = actual[cid]
        assert sorted(got) == sorted(row), f"{cid}: columns differ: {set(got) ^ set(row)}"
        for name, want in row.items():
            have = got[name]
            if isinstance(want, float) and have is not None:
                assert math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-9), f"{cid}.{name}: {have} != {want}"
            else:
                assert have == want, f"{cid}.{name}: {have!r} != {want!r}"


def _stamp(day: date, offset_days: int, moment: time) -> datetime:
    return datetime.combine(day + timedelta(days=offset_days), moment)


@st.composite
def knowledge_base(draw: st.DrawFn, day: date, late: bool = False) -> dict[str, list[dict]]:
    """Rows around ``day``; with ``late``, only rows strictly after the end of ``day``."""
    offsets = st.integers(1, 400) if late else st.one_of(st.integers(0, 800), st.sampled_from([0, 29, 30, 89, 90]))
    sign = 1 if late else -1
    stamps = st.builds(lambda o, m: _stamp(day, sign * o, m), offsets, st.sampled_from(TIMES))
    prefix = "late_" if late else ""

    customers = []
    if not late:
        for cid in CUSTOMER_IDS[: draw(st.integers(1, len(CUSTOMER_IDS)))]:
            years, shift = draw(st.integers(18, 70)), draw(st.integers(-3, 3))
            birth = draw(st.one_of(st.none(), st.just(day - timedelta(days=shift)), st.dates(date(1950, 1, 1), day)))
            if birth is not None and birth.month * 100 + birth.day != 229:
                birth = birth.replace(year=birth.year - years) if birth.year - years > 1900 else birth
            customers.append(dict(
                customer_id=cid, birth_date=birth, gender=draw(st.sampled_from(["F", "M", "X", None])),
                city=draw(st.sampled_from(["Lyon", None])), postcode=draw(st.sampled_from(["69003", " 7", "", None])),
                country=draw(st.sampled_from(["FR", "DE", None])),
                signup_date=day - timedelta(days=draw(st.sampled_from([0, 1, 400, 2000, -1]))), traits=None,
            ))  # fmt: skip
    else:
        customers.append(dict(customer_id="late_customer", birth_date=None, gender="F", city=None, postcode=None,
                              country="FR", signup_date=day + timedelta(days=1), traits=None))  # fmt: skip
    ids = [c["customer_id"] for c in customers] if not late else [*CUSTOMER_IDS, "late_customer"]

    orders, lines = [], []
    for i in range(draw(st.integers(0, 12))):
        order_id = f"{prefix}o{i}"
        orders.append(dict(
            order_id=order_id, customer_id=draw(st.sampled_from(ids)), ordered_at=draw(stamps),
            amount=draw(st.integers(0, 400)) / 4, discount_amount=draw(st.sampled_from([None, 0.0, 2.5])),
            channel=draw(st.sampled_from(["store", "web", "app"])), currency="EUR",
        ))  # fmt: skip
        for n in range(draw(st.integers(0, 3))):
            category = draw(st.sampled_from([*CATEGORIES, LATE_CATEGORY] if late else CATEGORIES))
            lines.append(dict(
                order_id=order_id, line_no=n + 1, product_id=f"p{n}", category=category,
                size=draw(st.sampled_from([None, "43"])), quantity=draw(st.integers(1, 3)),
                unit_price=draw(st.integers(0, 80)) / 4, promo=draw(st.sampled_from([None, True, False])),
            ))  # fmt: skip
    events = [
        dict(event_id=f"{prefix}e{i}", customer_id=draw(st.sampled_from(ids)), occurred_at=draw(stamps),
             type=draw(st.sampled_from(EVENT_TYPES)), channel="web",
             category=draw(st.sampled_from([*CATEGORIES, None])), size=draw(st.sampled_from([None, "43", "38"])),
             campaign_id=None, properties=None)
        for i in range(draw(st.integers(0, 15)))
    ]  # fmt: skip
    consents = {}
    for _ in range(draw(st.integers(0, 8))):
        row = dict(customer_id=draw(st.sampled_from(ids)), channel=draw(st.sampled_from(CONSENT_CHANNELS)),
                   purpose=draw(st.sampled_from(["marketing", "marketing", "service"])),
                   granted=draw(st.booleans()), recorded_at=draw(stamps), source="web")  # fmt: skip
        consents[(row["customer_id"], row["channel"], row["purpose"], row["recorded_at"])] = row
    return dict(customers=customers, orders=orders, order_lines=lines, events=events, consents=list(consents.values()))


def merged(base: dict[str, list[dict]], extra: dict[str, list[dict]]) -> dict[str, list[dict]]:
    return {name: [*base.get(name, []), *extra.get(name, [])] for name in TABLES}
