"""The read model's row reader: any row, read through its column matrices and codes, is what
Arrow itself gives for that row (types, NULLs, NaN, nested lists and key order included)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from segmento.service.profiles import Columns, Grouped

WORDS = st.sampled_from(["tennis", "yoga", "ski", "é", ""])
COLUMNS = {  # a type, and what its values may be
    "orders": (pa.int64(), st.integers(-2**40, 2**40)),
    "visits": (pa.int32(), st.integers(-1000, 1000)),
    "spend": (pa.float64(), st.floats(allow_infinity=False)),
    "share": (pa.float32(), st.floats(width=32, allow_infinity=False)),
    "consent": (pa.bool_(), st.booleans()),
    "city": (pa.string(), st.text(max_size=6)),
    "top": (pa.string(), WORDS),
    "born": (pa.date32(), st.dates(date(1900, 1, 1), date(2100, 1, 1))),
    "seen": (pa.timestamp("us"), st.datetimes(datetime(1990, 1, 1), datetime(2030, 1, 1))),
    "interests": (pa.list_(pa.string()), st.lists(WORDS, max_size=3)),
}


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    names = draw(st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, max_size=len(COLUMNS), unique=True))
    rows = draw(st.integers(1, 30))
    data = {}
    for name in names:
        kind, values = COLUMNS[name]
        data[name] = pa.array(draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows)), kind)
    return pa.table(data)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(tables())
def test_every_row_reads_as_arrow_reads_it(table: pa.Table) -> None:
    columns = Columns(table)
    expected = table.to_pylist()
    assert all(same(columns.row(i), row) for i, row in enumerate(expected)), (table.to_pylist(), columns.rows(0, 5))


@settings(max_examples=300, deadline=None)
@given(tables(), st.lists(st.integers(0, 30), max_size=5))
def test_rows_given_in_slices_read_as_the_whole_table(table: pa.Table, cuts: list[int]) -> None:
    """The read model fills its columns a slice of customers at a time (some slices empty, a column's
    first NULL in any slice): every row reads as Arrow reads it."""
    bounds = sorted({0, table.num_rows, *(min(c, table.num_rows) for c in cuts)})
    parts = [table.slice(a, b - a) for a, b in zip(bounds, bounds[1:])] or [table]
    columns = Columns.of_parts(table.num_rows, iter(parts))
    assert all(same(columns.row(i), row) for i, row in enumerate(table.to_pylist()))


def test_rows_of_many_distinct_values_and_chunked_columns() -> None:
    seen = [datetime(2024, 1, 1) + timedelta(microseconds=7 * i) for i in range(3000)]  # mostly distinct: not coded
    chunked = pa.chunked_array([pa.array([f"id{i}" for i in range(1500)]), pa.array([None] * 1500, pa.string())])
    table = pa.table({"seen": pa.array(seen), "id": chunked})
    columns = Columns(table)
    assert [columns.row(i) for i in (0, 1499, 1500, 2999)] == [table.slice(i, 1).to_pylist()[0] for i in (0, 1499, 1500, 2999)]


def test_a_customer_s_rows_are_its_group_and_others_have_none() -> None:
    table = pa.table({"_row": [4, 0, 4, 2], "audience": ["b", "a", "c", "d"]})
    grouped = Grouped.of(table)
    assert [grouped.get(row) for row in range(7)] == [
        [{"audience": "a"}], [], [{"audience": "d"}], [], [{"audience": "b"}, {"audience": "c"}], [], []]
