"""What every engine offers, and the SQL-standard way of doing it.

An engine adapter wraps an Ibis connection and owns the few operations in which engines
differ: transactions, staging data for the length of a block, deleting rows, replacing
a partition (a period), upserting and updating rows by key. Everything else is Ibis.
The generic implementations here are plain SQL (DELETE, UPDATE ... FROM, INSERT) built
with sqlglot in the engine's dialect; an engine without them overrides them.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from typing import Any

import ibis
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmento.errors import UnsupportedError
from segmento.store.registry import KEPT_APART


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do natively; the adapter says how it copes with the rest."""

    transactions: bool  # several writes commit or roll back together
    temporary_tables: bool  # CREATE TEMPORARY TABLE (else: views / cached frames / staging tables)
    delete: bool  # DELETE FROM (else: rewrite of the affected data)
    partition_overwrite: bool  # replace one partition of a table in one atomic write
    merge: bool  # UPDATE ... FROM / MERGE (else: rewrite)

    def missing(self) -> list[str]:
        return [f.name.replace("_", " ") for f in fields(self) if not getattr(self, f.name)]


Rows = pa.Table | ibis.Table


def scratch_name(purpose: str) -> str:
    """A fresh name for a staging table or view (never a knowledge-base name: it starts with _)."""
    return f"_{purpose}_{uuid.uuid4().hex[:12]}"


def equals(column: str, value: object) -> sge.Condition:
    """``column = value`` as a sqlglot condition with a safely quoted literal."""
    return sge.column(column, quoted=True).eq(sge.convert(value))


def matching(values: Mapping[str, object]) -> sge.Condition:
    """Every ``column = value`` of a partition spec, and-ed."""
    return sge.and_(*(equals(c, v) for c, v in values.items()))


class Engine:
    """The SQL-standard adapter (PostgreSQL and other engines with DELETE and UPDATE ... FROM).

    Writes are plain statements; ``transaction()`` is a no-op unless the subclass has real ones,
    in which case the engine's docstring says how a failed run is kept from leaving half a result.
    """

    name = "sql"
    capabilities = Capabilities(transactions=False, temporary_tables=True, delete=True,
                                partition_overwrite=False, merge=True)

    operational: Engine | None = None  # where the operational tables live when kept apart (Spark)

    def __init__(self, con: BaseBackend) -> None:
        self.con = con
        self._step = threading.local()  # this thread's open batch step (see ``batch_step``)

    def home(self, table: str) -> Engine:
        """The adapter holding ``table``: the operational store's for an operational table kept apart."""
        return self.operational if self.operational is not None and table in KEPT_APART else self

    def tables(self) -> set[str]:
        """Every table and view name of the base, wherever it lives."""
        return set(self.con.list_tables())

    def check(self) -> None:
        """Refuse an engine on which a batch write could be left half-done (said at connect time)."""
        if not (self.capabilities.transactions or self.capabilities.partition_overwrite):
            raise UnsupportedError(
                f"the {self.con.name} engine cannot hold a Segmento base yet: without transactions or partition "
                "overwrite, a stopped ingestion or snapshot would leave half its rows; use a DuckDB file or Spark"
            )

    # ---- tables ---------------------------------------------------------------------

    def base_tables(self) -> list[str]:
        """The knowledge base's own tables: no views, staging tables or registered frames."""
        return [n for n in self.con.list_tables() if not n.startswith(("ibis_", "_"))]

    def create_table(self, name: str, schema: ibis.Schema, partition_by: Sequence[str] = ()) -> ibis.Table:
        """An empty table (``partition_by`` only matters to engines that store partitions apart)."""
        return self.con.create_table(name, schema=schema)

    def ensure_lookups(self, wanted: Mapping[str, Sequence[str]]) -> None:
        """Index each table's lookup columns where the engine has indexes (here: none; a scan finds the rows)."""

    def row_counts(self, names: Sequence[str]) -> tuple[int, ...]:
        """Rows of each table (-1 where it does not exist)."""
        present = set(self.con.list_tables())
        return tuple(int(self.con.table(n).count().execute()) if n in present else -1 for n in names)

    # ---- transactions and staging ---------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    @contextmanager
    def staged(self, data: Rows) -> Iterator[ibis.Table]:
        """Arrow data or an expression as a table of the engine for the length of a block, then gone.

        An expression is computed once (read many times in the block): a temporary table here.
        """
        name = scratch_name("staged")
        table = self.con.create_table(name, data if isinstance(data, ibis.Table) else ibis.memtable(data), temp=True)
        try:
            yield table
        finally:
            self.con.drop_table(name, force=True)

    @contextmanager
    def staged_parts(self, parts: Sequence[ibis.Table]) -> Iterator[ibis.Table]:
        """Expressions of the same columns (slices of customers) staged as one table, computed one after
        the other where the engine can (DuckDB): it then holds one part's work at a time."""
        with self.staged(ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]) as table:
            yield table

    @contextmanager
    def batch_step(self) -> Iterator[None]:
        """A batch step (a snapshot, a refresh) in which what ``held`` computed stays readable to its end.

        Steps nest (a monthly run holds a snapshot and a refresh): a held table lives to the end of the
        outermost one. Nothing in a step may change the tables a held expression reads. Steps belong to
        the thread that opened them: the service's real-time path, which compiles expressions to SQL for
        one customer's rows, never sees a held table."""
        step = self._step
        if self.step_memo() is not None:  # within a step
            yield
            return
        with ExitStack() as step.stack:
            step.memo = {}
            try:
                yield
            finally:
                step.memo = None

    def held(self, rows: ibis.Table) -> ibis.Table:
        """``rows`` computed once for the rest of the batch step and read from there (the same expression
        asked again in the step reads the same table); outside a step, ``rows`` as they are.

        For an expression read several times in a step, e.g. a summary that is both scored and joined."""
        computed = self.step_memo()  # keyed by the expression
        if computed is None:
            return rows
        if rows.op() not in computed:
            computed[rows.op()] = self._step.stack.enter_context(self.staged(rows))
        return computed[rows.op()]

    def step_memo(self) -> dict[Any, Any] | None:
        """What this thread's open batch step keeps for its parts to share, to its end (None outside a step):
        the tables ``held`` computed, the features a monthly run's snapshot, alerts and refresh all read at
        one instant."""
        return getattr(self._step, "memo", None)

    @contextmanager
    def schemas_kept(self) -> Iterator[None]:
        """Within the block, each table's schema is read from the engine once (not at every ``con.table``):
        a backfill asks for the same tables dozens of times a month. Nothing in the block may change the
        columns of a table it has read."""
        con, known = self.con, {}
        patched = "table" in vars(con)
        read = con.table

        def table(name: str, *args: object, **kwargs: object) -> ibis.Table:
            key = (name, args, tuple(sorted(kwargs.items())))
            if key not in known:
                known[key] = read(name, *args, **kwargs)
            return known[key]

        con.table = table
        try:
            yield
        finally:
            if patched:
                con.table = read
            else:
                del con.table

    # ---- writes ---------------------------------------------------------------------

    def append(self, table: str, rows: Rows) -> None:
        """Insert rows (Arrow or an expression), cast to the table's schema and in its column order."""
        target = self.con.table(table)
        if isinstance(rows, pa.Table):
            arrow = target.schema().to_pyarrow()
            with self.staged(rows.select(arrow.names).cast(arrow)) as source:
                self._insert(table, source.select(*target.columns))
            return
        self._insert(table, rows.select(*target.columns).cast(target.schema()))

    def _insert(self, table: str, rows: ibis.Table) -> None:
        self.con.insert(table, rows)

    def append_mapped(self, table: str, rows: ibis.Table, mapper: Callable[[pa.RecordBatch], pa.RecordBatch]) -> None:
        """Insert ``mapper`` applied to each batch of ``rows`` (a Python step on the rows: here, in this
        process, on the result read whole: the insert would not survive an open streamed result, and
        the engine computes a whole result faster than a stream)."""
        mapped = [mapper(batch) for batch in rows.to_pyarrow().to_batches(1_000_000) if batch.num_rows]
        if mapped:
            self.append(table, pa.Table.from_batches(mapped))

    def count_where(self, table: str, where: sge.Condition) -> int:
        sql = sg.select("COUNT(*)").from_(sge.table_(table, quoted=True)).where(where).sql(self.con.dialect)
        return int(self.con.sql(sql).execute().iat[0, 0])

    def holds(self, table: str, values: Mapping[str, object]) -> bool:
        """Whether a row of ``table`` has these values (the real-time path's repeat check, per event)."""
        return self.count_where(table, sge.and_(*(sge.column(c, quoted=True).eq(sge.convert(v))
                                                  for c, v in values.items()))) > 0

    def delete_where(self, table: str, where: sge.Condition) -> int:
        """Remove the rows matching a sqlglot condition; returns how many."""
        count = self.count_where(table, where)
        if count:
            self.con.raw_sql(sge.delete(sge.table_(table, quoted=True), where=where).sql(self.con.dialect))
        return count

    def replace_partitions(self, table: str, partitions: Sequence[Mapping[str, object]], rows: ibis.Table) -> None:
        """Replace every row of the given partitions (``{column: value}`` each) by ``rows``, all at once.

        ``rows`` must hold only those partitions. Here: deletes and one insert in a transaction.
        """
        with self.transaction():
            for spec in partitions:
                self.delete_where(table, matching(spec))
            self.append(table, rows)

    def upsert(self, table: str, rows: Rows, key: Sequence[str]) -> None:
        """Rows replace the stored rows with the same key; new keys are added."""
        with self.staged(rows) as source, self.transaction():
            name = source.get_name()
            same_key = sge.and_(*(sge.column(k, table=name, quoted=True).eq(sge.column(k, table=table, quoted=True))
                                  for k in key))
            self.delete_where(table, sge.Exists(this=sg.select("1").from_(sge.table_(name, quoted=True)).where(same_key)))
            self.append(table, source)

    def update(self, table: str, rows: pa.Table, key: str) -> None:
        """Set the columns of ``rows`` on the stored rows with the same ``key`` (one UPDATE ... FROM)."""
        with self.staged(rows) as source:
            name = source.get_name()
            sets = [sge.EQ(this=sge.column(c, quoted=True), expression=sge.column(c, table="u", quoted=True))
                    for c in rows.column_names if c != key]
            update = sge.Update(
                this=sge.table_(table, quoted=True),
                expressions=sets,
                from_=sge.From(this=sge.table_(name, quoted=True, alias="u")),
                where=sge.Where(this=sge.column(key, table=table, quoted=True).eq(sge.column(key, table="u", quoted=True))),
            )
            self.con.raw_sql(update.sql(self.con.dialect))

    def replace_values(self, table: str, column: str, pairs: pa.Table) -> None:
        """Set ``column`` to ``pairs.new`` wherever it equals ``pairs.old`` (one UPDATE ... FROM)."""
        with self.staged(pairs) as source:
            update = sge.Update(
                this=sge.table_(table, quoted=True),
                expressions=[sge.EQ(this=sge.column(column, quoted=True), expression=sge.column("new", table="m"))],
                from_=sge.From(this=sge.table_(source.get_name(), quoted=True, alias="m")),
                where=sge.Where(this=sge.column(column, table=table, quoted=True).eq(sge.column("old", table="m"))),
            )
            self.con.raw_sql(update.sql(self.con.dialect))

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        """A few rows given as values (the real-time path's write)."""
        self.append(table, pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in rows]))

    # ---- reads ----------------------------------------------------------------------

    def batches(self, expr: ibis.Table, rows: int = 1_000_000) -> Iterator[pa.RecordBatch]:
        """The expression's result as Arrow batches (never all of it in memory at once where possible)."""
        yield from expr.to_pyarrow_batches(chunk_size=rows)

    def prepare_lookup(self, expr: ibis.Table, column: str) -> object:
        """The expression's rows with ``column`` equal to a value, prepared once for :meth:`run_lookup`.

        The result may be run by another connection of the same engine (a reader thread's)."""
        return expr, column

    def run_lookup(self, prepared: object, value: object) -> pa.Table:
        return self.run_lookup_in(prepared, [value])

    def run_lookup_in(self, prepared: object, values: Sequence[object]) -> pa.Table:
        """The rows of a :meth:`prepare_lookup` with ``column`` equal to any of ``values``."""
        expr, column = prepared
        return expr.filter(expr[column].isin(list(values))).to_pyarrow()

    def close(self) -> None:
        self.con.disconnect()


