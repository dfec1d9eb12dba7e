"""Open the knowledge base through Ibis, and the few write operations engines differ in."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ibis
import sqlglot as sg
import sqlglot.expressions as sge
import pyarrow as pa
from ibis.backends import BaseBackend


def open_backend(target: str | Path) -> BaseBackend:
    """Connect to a knowledge base.

    A plain path (``shop.duckdb``) is a DuckDB file, created if missing; anything
    with ``://`` is an Ibis connection URL (``duckdb://``, ``postgres://...``,
    ``pyspark://``) so the same code runs on another engine.
    """
    text = str(target)
    if "://" in text:
        return ibis.connect(text)
    path = Path(text)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    return ibis.duckdb.connect(str(path))


@contextmanager
def transaction(con: BaseBackend) -> Iterator[None]:
    """All-or-nothing writes where the engine has transactions (DuckDB); plain writes elsewhere."""
    raw = getattr(con, "con", None)
    if con.name != "duckdb" or raw is None:
        yield
        return
    raw.begin()
    try:
        yield
    except BaseException:
        raw.rollback()
        raise
    raw.commit()


def base_tables(con: BaseBackend) -> list[str]:
    """The knowledge base's own tables: no views, temporary tables or registered frames."""
    if con.name == "duckdb":
        rows = con.raw_sql(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_catalog = current_database() AND table_schema = current_schema() ORDER BY table_name"
        ).fetchall()
        return [name for (name,) in rows]
    return [name for name in con.list_tables() if not name.startswith(("ibis_", "_"))]


@contextmanager
def staged(con: BaseBackend, data: pa.Table) -> Iterator[ibis.Table]:
    """Arrow data as a table of the engine for the length of a block, then gone.

    Ibis memtables stay registered until the process exits, which would keep every
    ingested batch (and the personal data in it) in memory; this does not.
    """
    name = f"_staged_{uuid.uuid4().hex}"
    if con.name == "duckdb":
        con.con.register(name, data)
        try:
            yield con.table(name)
        finally:
            con.con.unregister(name)
        return
    table = con.create_table(name, data, temp=True)
    try:
        yield table
    finally:
        con.drop_table(name, force=True)


def append(con: BaseBackend, table: str, rows: pa.Table) -> None:
    """Insert Arrow rows into a knowledge-base table, cast to its schema."""
    target = con.table(table).schema().to_pyarrow()
    with staged(con, rows.select(target.names).cast(target)) as source:
        con.insert(table, source)


def count_where(con: BaseBackend, table: str, where: sge.Condition) -> int:
    """Rows of ``table`` matching a sqlglot condition."""
    sql = sg.select("COUNT(*)").from_(sge.table_(table, quoted=True)).where(where).sql(con.dialect)
    return int(con.raw_sql(sql).fetchone()[0])


def delete_where(con: BaseBackend, table: str, where: sge.Condition) -> int:
    """DELETE written through sqlglot in the engine's dialect (Ibis has no delete); returns rows removed."""
    count = count_where(con, table, where)
    if count:
        con.raw_sql(sge.delete(sge.table_(table, quoted=True), where=where).sql(con.dialect))
    return count


def equals(column: str, value: object) -> sge.Condition:
    """``column = value`` as a sqlglot condition with a safely quoted literal."""
    return sge.column(column, quoted=True).eq(sge.convert(value))
