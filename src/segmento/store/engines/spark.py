"""Spark: the analytical batch on Parquet tables in a warehouse directory.

Spark has no transactions, no temporary tables and, on Parquet tables, no DELETE or
UPDATE. So:
- staging is a temporary view: of an Arrow table, or of a cached DataFrame for an expression;
- replacing a period is one dynamic partition overwrite: Spark writes the new files
  aside and swaps the partition directories in when the job commits, so a failed run
  leaves the period as it was (never half of it);
- deleting a customer's rows, an upsert or an update rewrite only the affected data:
  the partitions that hold matching rows (the whole table when it has no partitions)
  are computed into a staging table first, then overwritten from it (the same swap);
- ``transaction()`` does not group Spark writes: each write above is all-or-nothing alone,
  and every batch step is written so that running it again repairs a stopped run.

Operational state (the outbox and its delivery state, export log, API keys, audit log:
tables declared ``operational_store`` in the registry) is row-level and transactional, so
with an operational store (a DuckDB file, or PostgreSQL) it lives there: every write to
those tables goes to that store's adapter, and ``transaction()`` is that store's.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import ibis
import pyarrow as pa
import sqlglot.expressions as sge

from segmento.store.engines.base import Capabilities, Engine, Rows, matching, scratch_name


def _routed(method: Callable[..., Any]) -> Callable[..., Any]:
    """A write or count on a table, done by the operational store when the table lives there."""

    @functools.wraps(method)
    def run(self: SparkEngine, table: str, *args: Any, **kwargs: Any) -> Any:
        home = self.home(table)
        if home is not self:
            return getattr(home, method.__name__)(table, *args, **kwargs)
        return method(self, table, *args, **kwargs)

    return run


class SparkEngine(Engine):
    """Spark SQL over Parquet tables; see the module docstring for how writes stay whole."""

    name = "spark"
    capabilities = Capabilities(transactions=False, temporary_tables=False, delete=False,
                                partition_overwrite=True, merge=False)

    def __init__(self, con: Any, owns_session: bool = False, operational: Engine | None = None) -> None:
        super().__init__(con)
        self.owns_session = owns_session
        self.operational = operational
        self.session = con._session
        self.session.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # Ibis hands in-memory tables to Spark through pandas, where a NULL text becomes NaN
        # and then the string 'NaN'; Arrow keeps NULL as NULL.
        con._register_in_memory_table = self._register_in_memory_table

    def _register_in_memory_table(self, op: Any) -> None:
        self._frame(op.data.to_pyarrow(op.schema), op.schema).createOrReplaceTempView(op.name)

    def _frame(self, data: pa.Table, schema: ibis.Schema | None = None) -> Any:
        from ibis.backends.pyspark.datatypes import PySparkSchema

        schema = schema or ibis.Schema.from_pyarrow(data.schema)
        # one batch: PySpark reads no row at all from a table whose first batch is empty
        # (what concatenating per-rule results gives when the first rule matched nothing)
        return self.session.createDataFrame(data.combine_chunks(), schema=PySparkSchema.from_ibis(schema))

    # ---- tables ---------------------------------------------------------------------

    def base_tables(self) -> list[str]:
        tables = self.session.catalog.listTables()
        found = {t.name for t in tables if not t.isTemporary and not t.name.startswith(("ibis_", "_"))}
        return sorted(found | set(self.operational.base_tables() if self.operational else ()))

    def tables(self) -> set[str]:
        return set(self.con.list_tables()) | (self.operational.tables() if self.operational else set())

    def row_counts(self, names: Sequence[str]) -> tuple[int, ...]:
        return tuple(Engine.row_counts(self.home(n), [n])[0] for n in names)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The operational store's transaction (Spark's own writes are each whole alone)."""
        with self.operational.transaction() if self.operational else super().transaction():
            yield

    @_routed
    def create_table(self, name: str, schema: ibis.Schema, partition_by: Sequence[str] = ()) -> ibis.Table:
        """A Parquet table in the warehouse, its partition columns stored as directories (and last)."""
        from ibis.backends.pyspark.datatypes import PySparkSchema

        columns = ", ".join(f"`{f.name}` {f.dataType.simpleString()}" for f in PySparkSchema.from_ibis(schema).fields)
        partitioned = f" PARTITIONED BY ({', '.join(f'`{c}`' for c in partition_by)})" if partition_by else ""
        self.session.sql(f"CREATE TABLE `{name}` ({columns}) USING parquet{partitioned}")
        return self.con.table(name)

    def partition_columns(self, table: str) -> list[str]:
        return [c.name for c in self.session.catalog.listColumns(table) if c.isPartition]

    # ---- staging --------------------------------------------------------------------

    @contextmanager
    def staged(self, data: Rows) -> Iterator[ibis.Table]:
        """Arrow data as a temporary view; an expression written once to a Parquet staging table.

        A cached DataFrame could be evicted and recomputed after the block's own writes changed
        what it reads (ingestion classifies rows against the table it then loads into).
        """
        name = scratch_name("staged")
        if isinstance(data, ibis.Table):
            self._sql_frame(data).write.format("parquet").saveAsTable(name)
            try:
                yield self.con.table(name)
            finally:
                self.session.sql(f"DROP TABLE IF EXISTS `{name}`")
            return
        self._frame(data).createOrReplaceTempView(name)
        try:
            yield self.con.table(name)
        finally:
            self.session.catalog.dropTempView(name)

    def _sql_frame(self, expr: ibis.Table) -> Any:
        self.con._run_pre_execute_hooks(expr)  # registers the memtables it reads
        return self.session.sql(self.con.compile(expr))

    # ---- writes ---------------------------------------------------------------------

    def _insert(self, table: str, rows: ibis.Table) -> None:
        self._sql_frame(rows).write.insertInto(table)

    @_routed
    def append_mapped(self, table: str, rows: ibis.Table, mapper: Callable[[pa.RecordBatch], pa.RecordBatch]) -> None:
        """``mapper`` runs in the executors' Python workers on each partition's Arrow batches
        (``mapInArrow``): nothing passes through the driver."""
        from ibis.backends.pyspark.datatypes import PySparkSchema
        from pyspark.sql.pandas.types import to_arrow_schema

        schema = PySparkSchema.from_ibis(self.con.table(table).schema())
        self._sql_frame(rows).mapInArrow(_MapToSchema(mapper, to_arrow_schema(schema)), schema).write.insertInto(table)

    @_routed
    def delete_where(self, table: str, where: sge.Condition) -> int:
        """Rewrite of the partitions holding matching rows (of the table when it has none), without them."""
        count = self.count_where(table, where)
        if not count:
            return 0
        condition = where.sql("spark")
        columns = self.partition_columns(table)
        touched = None
        scope = "TRUE"
        if columns:
            listed = ", ".join(f"`{c}`" for c in columns)
            touched = [row.asDict() for row in self.session.sql(
                f"SELECT DISTINCT {listed} FROM `{table}` WHERE {condition}").collect()]
            scope = sge.or_(*(matching(spec) for spec in touched)).sql("spark")
        self._rewrite(table, f"SELECT * FROM `{table}` WHERE ({scope}) AND NOT COALESCE(({condition}), FALSE)", touched)
        return count

    @_routed
    def replace_partitions(self, table: str, partitions: Sequence[Mapping[str, object]], rows: ibis.Table) -> None:
        """One dynamic partition overwrite when the table is partitioned by the spec's columns."""
        columns = self.partition_columns(table)
        if not partitions:
            return
        if sorted(columns) != sorted(partitions[0]):
            scope = sge.or_(*(matching(spec) for spec in partitions)).sql("spark")
            with self.staged(rows.select(*self.con.table(table).columns)) as new:
                self._rewrite(table, f"SELECT * FROM `{table}` WHERE NOT COALESCE(({scope}), FALSE) "
                                     f"UNION ALL SELECT * FROM `{new.get_name()}`", None)
            return
        # computed once, kept (memory, else local disk) for the list of partitions it fills and the write
        frame = self._sql_frame(rows.select(*self.con.table(table).columns)).persist()
        try:
            present = {tuple(str(row[c]) for c in columns) for row in frame.select(*columns).distinct().collect()}
            frame.write.insertInto(table, overwrite=True)
        finally:
            frame.unpersist()
        self._drop_partitions(table, [s for s in partitions if tuple(str(s[c]) for c in columns) not in present])

    @_routed
    def upsert(self, table: str, rows: Rows, key: Sequence[str]) -> None:
        """Rewrite of the table: the stored rows of other keys, then ``rows``; none when every row is
        already stored as it is (a batch step upserts the same labels every period)."""
        with self.staged(rows) as source:
            stored = self.con.table(table)
            if not source.select(*stored.columns).cast(stored.schema()).anti_join(stored, stored.columns).count().execute():
                return
            merged = stored.anti_join(source, list(key)).union(source.select(*stored.columns).cast(stored.schema()))
            self._rewrite_expr(table, merged)

    @_routed
    def update(self, table: str, rows: pa.Table, key: str) -> None:
        """Rewrite of the table with the given columns taken from ``rows`` where the key matches."""
        with self.staged(rows) as source:
            stored = self.con.table(table)
            hit = source.select(*[source[c].name(f"_new_{c}") for c in source.columns], _hit=ibis.literal(True))
            joined = stored.left_join(hit, stored[key] == hit[f"_new_{key}"])
            merged = joined.select(*[
                ibis.ifelse(joined._hit.notnull(), joined[f"_new_{c}"], joined[c]).cast(stored.schema()[c]).name(c)
                if c in source.columns and c != key else joined[c]
                for c in stored.columns
            ])
            self._rewrite_expr(table, merged)

    @_routed
    def replace_values(self, table: str, column: str, pairs: pa.Table) -> None:
        """Rewrite of the table with ``column`` mapped through ``pairs`` (old -> new)."""
        with self.staged(pairs) as source:
            stored = self.con.table(table)
            joined = stored.left_join(source, stored[column] == source.old)
            self._rewrite_expr(table, joined.select(*[
                ibis.coalesce(joined.new, joined[c]).name(c) if c == column else joined[c] for c in stored.columns
            ]))

    def _rewrite_expr(self, table: str, content: ibis.Table) -> None:
        self._rewrite(table, self.con.compile(content), None, content)

    def _rewrite(self, table: str, select: str, touched: list[dict] | None, expr: ibis.Table | None = None) -> None:
        """Write ``select`` (the new content of the touched partitions, or of the whole table) aside, then swap it in.

        Spark cannot overwrite a table it is reading, hence the staging table, dropped after.
        """
        if expr is not None:
            self.con._run_pre_execute_hooks(expr)
        staging = scratch_name("rewrite")
        self.session.sql(select).write.format("parquet").saveAsTable(staging)
        try:
            whole = touched is None and self.partition_columns(table)
            if whole:  # every partition is replaced, including those left empty
                self.session.conf.set("spark.sql.sources.partitionOverwriteMode", "static")
            try:
                self.session.table(staging).write.insertInto(table, overwrite=True)
            finally:
                self.session.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
            if touched:
                columns = self.partition_columns(table)
                left = {tuple(str(r[c]) for c in columns)
                        for r in self.session.table(staging).select(*columns).distinct().collect()}
                self._drop_partitions(table, [s for s in touched if tuple(str(s[c]) for c in columns) not in left])
        finally:
            self.session.sql(f"DROP TABLE IF EXISTS `{staging}`")

    def _drop_partitions(self, table: str, specs: Sequence[Mapping[str, object]]) -> None:
        """Partitions left with no row (a dynamic overwrite only replaces the ones it writes)."""
        for spec in specs:
            parts = ", ".join(f"`{c}` = '{str(v).replace(chr(39), '')}'" for c, v in spec.items())
            self.session.sql(f"ALTER TABLE `{table}` DROP IF EXISTS PARTITION ({parts})")

    append = _routed(Engine.append)
    count_where = _routed(Engine.count_where)
    insert_rows = _routed(Engine.insert_rows)

    def close(self) -> None:
        if self.operational is not None:
            self.operational.close()
        if self.owns_session:
            self.con.disconnect()


class _MapToSchema:
    """A batch mapper whose results are put in the table's column order and Arrow types (what Spark
    checks a ``mapInArrow`` result against)."""

    def __init__(self, mapper: Callable[[pa.RecordBatch], pa.RecordBatch], schema: pa.Schema) -> None:
        self.mapper, self.schema = mapper, schema

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield self.mapper(batch).select(self.schema.names).cast(self.schema)


def spark_session(master: str | None = None, remote: str | None = None, warehouse: str | None = None,
                  conf: Mapping[str, object] | None = None) -> tuple[Any, bool]:
    """A SparkSession, and whether it was started here (else the process's active one is reused):
    local (``master``, e.g. local[2]) or a cluster's Spark Connect endpoint (``remote``,
    e.g. sc://host:15002), with Parquet tables under ``warehouse``."""
    from pyspark.sql import SparkSession

    if not remote and (active := SparkSession.getActiveSession()) is not None:
        return active, False
    builder = SparkSession.builder.appName("segmento")
    if remote:
        builder = builder.remote(remote)
    else:
        builder = builder.master(master or "local[*]").config("spark.ui.showConsoleProgress", "false")
        # the Python workers (batch steps in Python, e.g. the why of audience changes) run this
        # interpreter, which has segmento, unless PYSPARK_PYTHON names another (PySpark reads only that)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        if warehouse:
            builder = builder.config("spark.sql.warehouse.dir", str(warehouse))
    for key, value in (conf or {}).items():
        builder = builder.config(key, str(value).lower() if isinstance(value, bool) else str(value))
    session = builder.getOrCreate()
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session, True


def connect_spark(session: Any = None, database: str | None = None, operational: Engine | None = None,
                  **options: Any) -> Any:
    """An Ibis connection over ``session`` (or one from ``options``, stopped with the workspace when
    started here), its engine adapter attached, in ``database`` (created if missing).

    ``operational`` is the adapter of the operational store (``engine_of(ibis.duckdb.connect(path))``),
    or None to keep every table in the warehouse (the outbox's writes then have no transactions)."""
    import ibis as ibis_

    owns = False
    if session is None:
        session, owns = spark_session(**options)
    if database:
        session.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        session.catalog.setCurrentDatabase(database)
    con = ibis_.pyspark.connect(session)
    con._segmento_engine = SparkEngine(con, owns_session=owns, operational=operational)  # what engine_of(con) gives from now on
    return con
