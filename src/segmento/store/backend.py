"""Open the knowledge base through Ibis, and the few write operations engines differ in."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import ibis
import sqlglot.expressions as sge
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.store.engines import engine_of, equals

__all__ = ["append", "append_mapped", "base_tables", "batch_step", "count_where", "delete_where", "equals", "held",
           "open_backend", "staged", "transaction"]


def open_backend(target: str | Path, memory_limit: str | None = None) -> BaseBackend:
    """Connect to a knowledge base.

    A plain path (``shop.duckdb``) is a DuckDB file, created if missing; anything
    with ``://`` is an Ibis connection URL (``duckdb://``, ``postgres://...``,
    ``pyspark://``) so the same code runs on another engine. ``memory_limit`` bounds a DuckDB
    file's memory (``engine.memory_limit``); larger work spills to disk.
    """
    text = str(target)
    if "://" in text:
        return ibis.connect(text)
    path = Path(text)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    return ibis.duckdb.connect(str(path), **({"memory_limit": memory_limit.strip()} if memory_limit else {}))


def transaction(con: BaseBackend) -> AbstractContextManager[None]:
    """All-or-nothing writes where the engine has transactions; see the engine's adapter elsewhere."""
    return engine_of(con).transaction()


def base_tables(con: BaseBackend) -> list[str]:
    """The knowledge base's own tables: no views, temporary tables or registered frames."""
    return engine_of(con).base_tables()


def staged(con: BaseBackend, data: pa.Table | ibis.Table) -> AbstractContextManager[ibis.Table]:
    """Arrow data (or an expression, computed once) as a table of the engine for the length of a block, then gone.

    Ibis memtables stay registered until the process exits, which would keep every
    ingested batch (and the personal data in it) in memory; this does not.
    """
    return engine_of(con).staged(data)


def batch_step(con: BaseBackend) -> AbstractContextManager[None]:
    """A batch step (a snapshot, a refresh): what its parts compute with :func:`held` is kept to its end."""
    return engine_of(con).batch_step()


def held(con: BaseBackend, rows: ibis.Table) -> ibis.Table:
    """``rows`` computed once for the rest of the current batch step (as they are outside one)."""
    return engine_of(con).held(rows)


def append(con: BaseBackend, table: str, rows: pa.Table | ibis.Table) -> None:
    """Insert rows into a knowledge-base table, cast to its schema."""
    engine_of(con).append(table, rows)


def append_mapped(con: BaseBackend, table: str, rows: ibis.Table,
                  mapper: Callable[[pa.RecordBatch], pa.RecordBatch]) -> None:
    """Insert ``mapper`` applied to each Arrow batch of ``rows``: a Python step run where the rows are."""
    engine_of(con).append_mapped(table, rows, mapper)


def count_where(con: BaseBackend, table: str, where: sge.Condition) -> int:
    """Rows of ``table`` matching a sqlglot condition."""
    return engine_of(con).count_where(table, where)


def delete_where(con: BaseBackend, table: str, where: sge.Condition) -> int:
    """Remove the rows matching a sqlglot condition (a rewrite where the engine has no DELETE); returns how many."""
    return engine_of(con).delete_where(table, where)


def delete_matching(con: BaseBackend, table: str, keys: pa.Table) -> None:
    """Remove the rows of ``table`` whose values in ``keys``' columns equal those of one row of ``keys``."""
    if not keys.num_rows:
        return
    with staged(con, keys) as matched:
        name = matched.get_name()
        same = sge.and_(*(
            sge.column(c, table=name, quoted=True).eq(sge.column(c, table=table, quoted=True)) for c in keys.column_names
        ))
        delete_where(con, table, sge.Exists(this=sge.select("1").from_(sge.table_(name, quoted=True)).where(same)))
