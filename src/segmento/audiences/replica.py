"""An in-memory copy of the knowledge-base columns the rules read, clustered by customer.

The real-time path needs one customer's rows in well under a millisecond; a point query
on a 60M-row table costs ~10 ms even with an index. So the rows are read once, sorted by
customer, and one customer's rows are a zero-copy Arrow slice. Events pushed since are
kept beside it, per customer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmento.store.engines import engine_of
from segmento.store.backend import count_where
from segmento.store.registry import AUDIT, CHANGES_BASE, INGESTIONS
from segmento.store.schema import TABLES
from segmento.store.tables import table

CUSTOMER_TABLES = ("customers", "orders", "order_lines", "events", "consents")
WRITE_LOGS = (INGESTIONS.name, AUDIT.name)
_KEY = "_customer"
ID_HASH = "_event_id_hash"


class Replica:
    """Rows per table, sorted by customer, with each customer's [start, end) per table."""

    def __init__(self, con: BaseBackend, columns: Mapping[str, Sequence[str]]) -> None:
        customers = con.table("customers").select("customer_id").order_by("customer_id").to_pyarrow()
        self.customer_ids: pa.ChunkedArray = customers.column("customer_id")
        self.index: dict[str, int] = {cid: i for i, cid in enumerate(self.customer_ids.to_pylist())}
        self.tables: dict[str, pa.Table] = {}
        self.bounds: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.columns = {name: [c for c in cols if c != "customer_id"] for name, cols in columns.items()}
        for name, cols in self.columns.items():
            self._load(con, name, cols)
        self.pushed: dict[str, dict[int, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
        table(con, AUDIT.name)  # made now if missing, so a check never has to look for it
        self.counts = self.table_counts(con)
        self.base_changes = self.audited_changes(con)

    @staticmethod
    def table_counts(con: BaseBackend) -> tuple[int, ...]:
        """Ingestion runs and audited operations so far: a new one means the copy may be stale.

        Every other write to the source tables goes through these two logs; counted by the
        engine (from metadata where it can), because it runs before every pushed event."""
        return engine_of(con).row_counts(WRITE_LOGS)

    @staticmethod
    def audited_changes(con: BaseBackend) -> int:
        """Audited operations that changed rows (erasure, purge...): most audit entries are reads."""
        return count_where(con, AUDIT.name, sge.column("action", quoted=True).isin(*map(sge.convert, CHANGES_BASE)))

    def _load(self, con: BaseBackend, name: str, columns: list[str]) -> None:
        """Rows with the owner's position among the customers, sorted by it: bounds are a bincount."""
        customers = con.table("customers")
        positions = customers.select(_KEY_ID=customers.customer_id, **{_KEY: ibis.row_number().over(
            order_by="customer_id")})
        if name == "order_lines":
            orders = con.table("orders")
            t = con.table("order_lines").join(orders.select("order_id", _owner=orders.customer_id), "order_id")
            owner = t._owner
        else:
            t = con.table(name)
            owner = t.customer_id
        read = [*columns, "event_id"] if name == "events" and "event_id" not in columns else columns
        rows = t.join(positions, owner == positions._KEY_ID).select(*[t[c] for c in read], positions[_KEY])
        counts = np.zeros(len(self.customer_ids), dtype=np.int64)
        batches, encoded = [], None
        for batch in engine_of(con).batches(rows.order_by(_KEY)):  # never all of it as plain text at once
            counts += np.bincount(batch.column(_KEY).to_numpy(), minlength=len(counts))
            batch = self._hashed(name, batch.drop_columns([_KEY]))
            encoded = _few_values(batch) if encoded is None else encoded
            batches.append(_encode(batch, encoded))
        empty = self._hashed(name, rows.drop(_KEY).schema().to_pyarrow().empty_table())
        ends = np.cumsum(counts)
        self.tables[name] = _narrow(pa.Table.from_batches(batches, schema=batches[0].schema if batches else empty.schema))
        self.bounds[name] = (ends - counts, ends)

    def _hashed(self, name: str, rows: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
        """Events keep a 31-bit hash of their id for the duplicate check, and the id itself only when a
        feature reads it: ids are a third of the copy's memory."""
        if name != "events":
            return rows
        hashes = pa.array([_id_hash(v) for v in rows.column("event_id").to_pylist()], pa.int32())
        if "event_id" not in self.columns[name]:
            rows = rows.drop_columns(["event_id"])
        return rows.append_column(ID_HASH, hashes)

    def rows(self, customer: int, table: str) -> pa.Table:
        """One customer's rows of ``table`` (with customer_id where the table has it), pushed rows last.

        Text columns may be dictionaries: :func:`plain` turns them back to text where it matters."""
        start, end = self.bounds[table][0][customer], self.bounds[table][1][customer]
        part = self.tables[table].slice(start, end - start)
        pushed = self.pushed[table].get(customer)
        if pushed:
            part = pa.concat_tables([part, pa.Table.from_pylist(pushed, schema=part.schema)])
        if "customer_id" in TABLES[table].column_names:
            owner = pa.array([self.customer_ids[customer].as_py()] * part.num_rows, pa.string())
            part = part.append_column("customer_id", owner)
        return part

    def row(self, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
        """A new row of ``table`` as the copy holds it."""
        held = {c: row.get(c) for c in self.columns[table]}
        return {**held, ID_HASH: _id_hash(row["event_id"])} if table == "events" else held

    def push(self, table: str, customer: int, row: Mapping[str, Any]) -> None:
        self.pushed[table][customer].append(self.row(table, row))

    def holds_event(self, con: BaseBackend, customer: int, event_id: str) -> bool:
        """Whether the customer already has this event: its hash among theirs, then (for a match, rare
        but for a repeat) the knowledge base asked, so that an equal hash never drops a new event."""
        if _id_hash(event_id) not in self.rows(customer, "events").column(ID_HASH).to_pylist():
            return False
        owner = self.customer_ids[customer].as_py()
        return count_where(con, "events", sge.and_(sge.column("customer_id", quoted=True).eq(sge.convert(owner)),
                                                    sge.column("event_id", quoted=True).eq(sge.convert(event_id)))) > 0

    def stale(self, con: BaseBackend) -> bool:
        """Whether the knowledge base changed since the copy (an ingestion, an erasure, a purge).

        A new audit entry that is only a read (the service records customer reads every few
        seconds) leaves the copy as it is: reloading it stalled the next event for a second."""
        counts = self.table_counts(con)
        if counts == self.counts:
            return False
        if counts[0] != self.counts[0] or self.audited_changes(con) != self.base_changes:
            return True
        self.counts = counts
        return False


def _few_values(batch: pa.RecordBatch) -> list[str]:
    """Text columns whose first 10,000 values hold few distinct ones (event types, channels, categories)."""
    sample = batch.slice(0, 10_000)
    return [f.name for f in batch.schema if pa.types.is_string(f.type) and sample.num_rows > 1000
            and pc.count_distinct(sample.column(f.name)).as_py() < 500]  # fmt: skip


def _encode(batch: pa.RecordBatch | pa.Table, columns: list[str]) -> pa.RecordBatch | pa.Table:
    """Those columns as dictionaries: a quarter of the memory of plain text."""
    for name in columns:
        i = batch.schema.get_field_index(name)
        batch = batch.set_column(i, name, pc.dictionary_encode(batch.column(i)))
    return batch


def _id_hash(event_id: str) -> int:
    """31 bits of Python's hash of the id (salted per process, as the copy is): four bytes a row."""
    return hash(event_id) % 2**31


def _narrow(table: pa.Table) -> pa.Table:
    """Dictionary columns with one dictionary and the smallest index their values allow (a byte a row, not four)."""
    table = table.unify_dictionaries()
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            size = max((len(chunk.dictionary) for chunk in table.column(i).chunks), default=0)
            index = pa.int8() if size < 2**7 else pa.int16() if size < 2**15 else None
            if index is not None:
                table = table.set_column(i, field.name, table.column(i).cast(pa.dictionary(index, field.type.value_type)))
    return table


def plain(table: pa.Table) -> pa.Table:
    """The table with dictionary columns decoded to text (what SQL engines expect)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    return table
