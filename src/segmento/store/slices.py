"""Read a per-customer table of the whole base in slices of consecutive customer ids.

A per-customer aggregate of the whole base (the features of every customer) holds every
customer's groups at once: at 1M customers, more than 2 GB of engine memory. A range of ids
is pushed down to the scans, so a slice holds its own customers' groups only: the engine's
memory is bounded by the slice, not by the base, for a few more passes over the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from ibis.backends import BaseBackend

CUSTOMERS_PER_SLICE = 250_000  # at 1M customers, the full feature catalog runs under a 1 GB engine limit

Range = tuple["str | None", "str | None"]  # [first id, next slice's first id); None: unbounded


def ranges(sorted_ids: Sequence[str] | pa.ChunkedArray | pa.Array, per_slice: int | None = None) -> list[Range]:
    """Consecutive ranges of ``sorted_ids``, about ``per_slice`` ids each, that together cover every id
    (any id: the first and last are unbounded)."""
    per_slice = per_slice or CUSTOMERS_PER_SLICE
    starts = sorted({str(sorted_ids[i].as_py() if isinstance(sorted_ids, (pa.Array, pa.ChunkedArray)) else sorted_ids[i])
                     for i in range(per_slice, len(sorted_ids), per_slice)})
    bounds: list[str | None] = [None, *starts, None]
    return list(zip(bounds, bounds[1:]))


def within(column: ir.StringValue, bounds: Range) -> ir.BooleanValue:
    """``column`` in the range: plain comparisons, which the engine pushes down to its scans (with
    ``OR column IS NULL`` it did not, and a slice took the memory of the whole base). A row with no
    customer id is in no slice but the only one: a per-customer table has none."""
    first, after = bounds
    if first is None:
        return ibis.literal(True) if after is None else column < after
    return column >= first if after is None else (column >= first) & (column < after)


def read_sliced(build: Callable[[Range], ir.Table], sorted_ids: Sequence[str] | pa.ChunkedArray | pa.Array,
                per_slice: int | None = None) -> pa.Table:
    """``build(range)`` for each range of ``sorted_ids``, read and concatenated in range order."""
    return pa.concat_tables([build(bounds).to_pyarrow() for bounds in ranges(sorted_ids, per_slice)])


def customer_ranges(con: BaseBackend, per_slice: int | None = None) -> list[Range]:
    """Ranges of the base's customer ids (the customers table), about ``per_slice`` customers each."""
    customers = con.table("customers")
    return ranges(customers.select("customer_id").order_by("customer_id").to_pyarrow().column(0), per_slice)
