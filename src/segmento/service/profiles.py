"""Customer 360: attributes, features, audiences, segments and their history, consents.

A point query on a columnar engine scans (DuckDB reads a whole row group per column
even for one customer: ~5 ms on 1M customers, far from 1,000 lookups a second), so the
service keeps a read model in memory: every piece of the 360 read in a few bulk queries,
rows aligned by customer, segment history as small integer codes. A lookup is then a
dict hit and a one-row Arrow slice.

The same loader, given one customer id, reads that customer only: the live path, used
for customers written since the model was built and while it is being built. One code
path for both, so they cannot drift apart (a test compares them on every customer).
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis import _

from segmento.dynamics.store import snapshots
from segmento.service.live_features import FeatureSQL
from segmento.store.consents import consents_in_force
from segmento.store.engines import engine_of
from segmento.store.ids import IdIndex
from segmento.store.memory import release_memory
from segmento.store.slices import Range, ranges, read_sliced, within
from segmento.workspace import Workspace

ROW = "_row"
EPOCH = datetime(1970, 1, 1)


@dataclass
class History:
    """One segmentation's snapshots: segment code per customer and period (-1: not in the base then)."""

    periods: list[date]
    segments: list[dict[str, Any]]  # code -> {segment_id, label, rank}
    codes: np.ndarray  # int16, shape (customers, periods)

    def of(self, row: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """(segment at the latest period, the path over every period the customer was in)."""
        path = [
            {"period": period, **self.segments[code]}
            for period, code in zip(self.periods, self.codes[row].tolist())
            if code >= 0
        ]
        latest = self.codes[row, -1] if self.periods else -1
        current = {"period": self.periods[-1], **self.segments[latest]} if latest >= 0 else None
        return current, path


class Columns:
    """A table's columns laid out for reading one row as a dict in a few microseconds.

    Number and boolean columns of one NumPy type are one matrix (customers x columns): a row of
    them is one ``tolist()``. Text, dates and lists are codes into their distinct values, read
    as Python objects once. A column with too many distinct values (or of another type) is read
    as an Arrow scalar (~2 us). A 360 read 70 features one by one in about 100 us.
    """

    def __init__(self, table: pa.Table) -> None:
        self._build(table.num_rows, table.schema, [table])

    @classmethod
    def of_parts(cls, num_rows: int, parts: Iterator[pa.Table]) -> Columns:
        """The same from consecutive slices of rows (at least one), each let go once copied: at 1M
        customers, holding the whole Arrow table beside its matrices raised a build's peak by 0.5 GB."""
        first = next(parts)
        columns = cls.__new__(cls)
        columns._build(num_rows, first.schema, itertools.chain([first], parts))
        return columns

    def _build(self, num_rows: int, schema: pa.Schema, parts: Iterable[pa.Table]) -> None:
        self.names, self.num_rows = schema.names, num_rows
        numbers: dict[np.dtype, list[int]] = {}
        others: dict[int, list[pa.Array]] = {}
        for position, kind in enumerate(schema.types):
            if _is_number(kind):
                numbers.setdefault(np.dtype(kind.to_pandas_dtype()), []).append(position)
            else:
                others[position] = []
        blocks = [_Block(positions, num_rows, dtype) for dtype, positions in numbers.items()]
        start = 0
        for part in parts:
            for block in blocks:
                block.fill(start, part)
            for position, chunks in others.items():
                chunks.extend(part.column(position).chunks)
            start += part.num_rows
        if start != num_rows:
            raise ValueError(f"{start} rows given for {num_rows}")
        self.blocks = [(block.positions, block.matrix, block.valid) for block in blocks]
        self.getters: list[tuple[int, Callable[[int], Any]]] = [
            (position, _getter(pa.chunked_array(chunks, schema.types[position]).combine_chunks()))
            for position, chunks in others.items()
        ]

    def row(self, i: int) -> dict[str, Any]:
        values: list[Any] = [None] * len(self.names)
        for positions, matrix, valid in self.blocks:
            if valid is None:
                for position, value in zip(positions, matrix[i].tolist()):
                    values[position] = value
            else:
                for position, value, known in zip(positions, matrix[i].tolist(), valid[i].tolist()):
                    if known:
                        values[position] = value
        for position, get in self.getters:
            values[position] = get(i)
        return dict(zip(self.names, values))

    def rows(self, start: int, end: int) -> list[dict[str, Any]]:
        return [self.row(i) for i in range(start, end)]


def _is_number(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)


def _numpy(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(array, False if pa.types.is_boolean(array.type) else 0).to_numpy(zero_copy_only=False)


class _Block:
    """Number columns of one NumPy type side by side (customers x columns), filled a slice of rows and a
    column at a time, with their validity once one has a NULL."""

    def __init__(self, positions: list[int], num_rows: int, dtype: np.dtype) -> None:
        self.positions = positions
        self.matrix = np.empty((num_rows, len(positions)), dtype=dtype)
        self.valid: np.ndarray | None = None

    def fill(self, start: int, part: pa.Table) -> None:
        end = start + part.num_rows
        for j, position in enumerate(self.positions):
            column = part.column(position)
            self.matrix[start:end, j] = _numpy(column)
            if column.null_count:
                if self.valid is None:
                    self.valid = np.ones(self.matrix.shape, dtype=bool)
                self.valid[start:end, j] = _numpy(column.is_valid())


def _getter(array: pa.Array) -> Callable[[int], Any]:
    """Row i of a column that is not a number: its code into the distinct values, else an Arrow scalar."""
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        return _list_getter(array)
    distinct, codes = _coded(array)
    if distinct is not None:
        return lambda i: distinct[codes[i]]
    if pa.types.is_timestamp(array.type) and array.type.tz is None:  # recorded_at: mostly distinct
        micros = pc.cast(array, pa.timestamp("us")).cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        return lambda i: EPOCH + timedelta(microseconds=int(micros[i])) if valid[i] else None
    return lambda i: array[i].as_py()


def _coded(array: pa.Array) -> tuple[list[Any] | None, np.ndarray]:
    """(distinct values + None, each row's index into them), or (None, _) where that would not save anything."""
    try:
        encoded = pc.dictionary_encode(array)
    except pa.ArrowNotImplementedError:
        return None, np.empty(0)
    if len(encoded.dictionary) > max(1000, len(array) // 4):  # mostly distinct: as many objects as rows
        return None, np.empty(0)
    distinct = [*encoded.dictionary.to_pylist(), None]
    return distinct, pc.fill_null(encoded.indices, len(distinct) - 1).to_numpy(zero_copy_only=False)


def _list_getter(array: pa.Array) -> Callable[[int], Any]:
    """Lists (interests, offers): offsets into the coded values of all the lists."""
    distinct, codes = _coded(pc.list_flatten(array))
    if distinct is None:
        return lambda i: array[i].as_py()
    offsets = pc.list_value_length(array).fill_null(0).to_numpy(zero_copy_only=False).cumsum()
    starts = offsets - pc.list_value_length(array).fill_null(0).to_numpy(zero_copy_only=False)
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    return lambda i: [distinct[c] for c in codes[starts[i]:offsets[i]].tolist()] if valid[i] else None


class Grouped:
    """Rows of a table grouped by customer row: one customer's rows are a slice, its bounds held per
    customer (two binary searches cost more than the rest of a small group)."""

    def __init__(self, rows: np.ndarray, table: Columns) -> None:
        self.table = table
        customers = np.arange(int(rows.max()) + 2 if len(rows) else 1)
        self.starts = np.searchsorted(rows, customers, "left")
        self.ends = np.searchsorted(rows, customers, "right")

    @classmethod
    def of(cls, table: pa.Table) -> Grouped:
        rows = table.column(ROW).to_numpy()
        if len(rows) and (np.diff(rows) < 0).any():  # sorted here only where the engine did not order them
            table = table.take(pa.array(np.argsort(rows, kind="stable")))
        return cls(table.column(ROW).to_numpy(), Columns(table.drop_columns([ROW])))

    def get(self, row: int) -> list[dict[str, Any]]:
        row = min(row, len(self.starts) - 1)  # past the last customer with rows: none
        return self.table.rows(int(self.starts[row]), int(self.ends[row]))


@dataclass
class ReadModel:
    """Everything a 360 needs, for every customer (or one), as of one instant."""

    as_of: datetime
    index: IdIndex  # customer id -> row
    customers: Columns
    features: Columns
    histories: dict[str, History]
    audiences: Grouped
    consents: Grouped
    built_at: datetime = field(default_factory=lambda: datetime.now().replace(microsecond=0))
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.index)

    def get(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's 360, or None if the customer is not in the base."""
        row = self.index.get(customer_id)
        if row is None:
            return None
        segments, history = {}, {}
        for name, held in self.histories.items():
            segments[name], history[name] = held.of(row)
        features = self.features.row(row)
        known = any(value is not None for value in features.values())
        return {
            "customer_id": customer_id,
            "as_of": self.as_of,
            "attributes": self.customers.row(row),
            "features": features if known else None,  # None: not a customer yet at as_of
            "audiences": sorted(r["audience"] for r in self.audiences.get(row)),
            "segments": segments,
            "segment_history": history,
            "consents": self.consents.get(row),
        }


def load(ws: Workspace, as_of: datetime, customer_id: str | None = None, compiled: FeatureSQL | None = None) -> ReadModel:
    """The read model of the whole base, or of ``customer_id`` alone (same queries, one more filter).

    ``compiled`` (the features SQL of the same ``as_of``) makes a one-customer load fast.
    """
    started = time.perf_counter()
    customers = ws.table("customers")
    if customer_id is not None:
        customers = customers.filter(customers.customer_id == customer_id)
    people = customers.order_by("customer_id").to_pyarrow()
    ids = people.column("customer_id").to_pylist()
    index = IdIndex(ids)
    # each customer's row, as an Arrow table the engine reads in place (cached in the engine, the whole
    # profile took a share of its memory limit that the features query needs)
    numbered = pa.table({"customer_id": people.column("customer_id"), ROW: np.arange(len(ids), dtype=np.int64)})
    with engine_of(ws.con).staged(numbered) as keys:
        model = ReadModel(
            as_of=as_of,
            index=index,
            customers=Columns(people),
            features=Columns.of_parts(len(ids), _features(ws, as_of, ids, customer_id, compiled)),
            histories=_histories(ws, keys, len(index)),
            audiences=_audiences(ws, keys, ids, customer_id),
            consents=_consents(ws, as_of, keys, ids, customer_id),
        )
    if customer_id is None:
        release_memory()  # what the build read and converted, handed back
    model.seconds = time.perf_counter() - started
    return model


def written_parts(ws: Workspace, customer_id: str, compiled: FeatureSQL) -> dict[str, Any]:
    """What a write through the API can change in a 360 (features, audiences), read now for
    one customer."""
    found = compiled.one(ws, customer_id)
    features = Columns(found.drop_columns(["customer_id"])).row(0) if found.num_rows else None
    mine = _only(ws.audiences.current(), customer_id).select("audience")
    audiences = sorted(mine.to_pyarrow().column(0).to_pylist())
    return {"features": features, "audiences": audiences}


def _on_rows(table: ibis.Table, keys: ibis.Table, *columns: str) -> ibis.Table:
    """``table`` restricted to the loaded customers, with their row number."""
    joined = table.join(keys, "customer_id")
    return joined.select(ROW, *columns)


def _features(ws: Workspace, as_of: datetime, ids: list[str], customer_id: str | None,
              compiled: FeatureSQL | None) -> Iterator[pa.Table]:
    """Every loaded customer's features, in row order, read in slices of customers (store/slices.py) and
    aligned here (an engine join and sort of the whole slice took more memory than its features), a
    slice at a time."""
    if customer_id is not None and compiled is not None and compiled.as_of == as_of:
        found = compiled.one(ws, customer_id)
        one = found.drop_columns(["customer_id"]) if found.num_rows else _nulls(found.schema)
        yield one.slice(0, len(ids))  # no row for a customer not in the base (erased)
        return
    features = ws.features(as_of)
    if customer_id is not None:
        features = features.filter(features.customer_id == customer_id)
    for bounds in ranges(ids):
        yield _slice(features, ids, bounds)


def _slice(features: ibis.Table, ids: list[str], bounds: Range) -> pa.Table:
    """The features of the customers of ``ids`` in ``bounds``, in their order (none: a row of nulls)."""
    got = features.filter(within(features.customer_id, bounds)).to_pyarrow()
    mine = pa.array(ids[_position(ids, bounds[0], 0):_position(ids, bounds[1], len(ids))], pa.string())
    return got.take(pc.index_in(mine, value_set=got.column("customer_id"))).drop_columns(["customer_id"])


def _position(ids: list[str], bound: str | None, unbounded: int) -> int:
    return unbounded if bound is None else bisect.bisect_left(ids, bound)


def _histories(ws: Workspace, keys: ibis.Table, customers: int) -> dict[str, History]:
    table = snapshots(ws.con)
    histories = {}
    for name in sorted(table.select("segmentation").distinct().to_pyarrow().column(0).to_pylist()):
        rows = table.filter(table.segmentation == name)
        periods = sorted(rows.select("period").distinct().to_pyarrow().column(0).to_pylist())
        segments = (
            rows.group_by("segment_id")
            .agg(label=_.segment_label.argmax(_.period), rank=_.segment_rank.min())
            .order_by(["rank", "segment_id"])
            .to_pyarrow()
            .to_pylist()
        )
        ids = [s["segment_id"] for s in segments]
        coded = _on_rows(rows, keys, "period", "segment_id").select(
            ROW,
            period=ibis.cases(*((_.period == p, i) for i, p in enumerate(periods))),
            code=ibis.cases(*((_.segment_id == s, i) for i, s in enumerate(ids)), else_=-1),
        ).to_pyarrow()
        codes = np.full((customers, len(periods)), -1, dtype=np.int16)
        codes[coded.column(ROW).to_numpy(), coded.column("period").to_numpy()] = coded.column("code").to_numpy()
        labelled = [{"segment_id": s["segment_id"], "label": s["label"], "rank": s["rank"]} for s in segments]
        histories[name] = History(periods, labelled, codes)
    return histories


def _audiences(ws: Workspace, keys: ibis.Table, ids: list[str], customer_id: str | None) -> Grouped:
    return _grouped(_only(ws.audiences.current(), customer_id), keys, ids, ["audience"], [ROW])


def _consents(ws: Workspace, as_of: datetime, keys: ibis.Table, ids: list[str], customer_id: str | None) -> Grouped:
    state = _only(consents_in_force(ws.con, as_of, purpose=None), customer_id)
    return _grouped(state, keys, ids, ["channel", "purpose", "granted", "recorded_at"], [ROW, "channel", "purpose"])


def _only(state: ibis.Table, customer_id: str | None) -> ibis.Table:
    """A per-customer state (grouped by customer) of one customer, or of all: the engine takes a filter on
    the customer below the grouping, into the scan (joined with the one customer's key, it grouped the
    whole table first: 0.8 s each at 1M customers)."""
    return state if customer_id is None else state.filter(state.customer_id == customer_id)


def _grouped(table: ibis.Table, keys: ibis.Table, ids: list[str], columns: list[str], order: list[str]) -> Grouped:
    """``table``'s rows of the loaded customers grouped by customer, read in slices of customers and
    ordered by row in the engine (the grouping then needs no sorted copy)."""
    return Grouped.of(read_sliced(lambda bounds: _on_rows(table.filter(within(table.customer_id, bounds)), keys,
                                                          *columns).order_by(order), ids))


def _nulls(schema: pa.Schema) -> pa.Table:
    """One all-NULL row: a customer who had not signed up at the instant."""
    return pa.table({f.name: pa.nulls(1, f.type) for f in schema if f.name != "customer_id"})
