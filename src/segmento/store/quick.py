"""Quick reads: a query written once, run on the DuckDB file directly or through Ibis on any engine.

Listing verbs (``segmento status``, ``keys list``, ``quarantine``, ``gdpr status``) should
answer in a fraction of a second. On a DuckDB knowledge base already at this layout they
read the file with DuckDB's own API, read-only, without loading Ibis, pandas or Arrow
(about 2 s of CPU). Anywhere else (Spark, a database still to migrate, a file another
process holds open) the same query runs through the workspace's Ibis connection, translated
by sqlglot from DuckDB's dialect to the engine's: one query, the same answer either way.

Queries are plain SELECTs in DuckDB's dialect, with ``?`` for every value that comes from
outside: a string or an integer, written into the query as a quoted literal (binding
parameters would make DuckDB's client import pandas to look at them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from segmento.store.layout import LAYOUT_VERSION

if TYPE_CHECKING:
    import duckdb
    from ibis.backends import BaseBackend

Source = Union["duckdb.DuckDBPyConnection", "BaseBackend"]  # a file opened by open_file(), or a workspace's con


def is_file(source: Source) -> bool:
    """Whether ``source`` is the DuckDB file read directly (not a workspace's Ibis connection)."""
    return type(source).__name__ == "DuckDBPyConnection"  # no isinstance: it would import duckdb for Ibis callers


def rows(source: Source, query: str, *params: object) -> list[dict[str, Any]]:
    """The rows of ``query`` as dicts, from the file directly or through the engine that holds its table."""
    query = _inline(query, params)
    if is_file(source):
        cursor = source.execute(query)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    import sqlglot
    import sqlglot.expressions as sge

    from segmento.store.engines import home
    from segmento.store.tables import table

    tree = sqlglot.parse_one(query, dialect="duckdb")
    name = tree.find(sge.Table).name
    table(source, name)  # created if this database lacks it
    backend = home(source, name)
    return backend.sql(tree.sql(backend.dialect)).to_pyarrow().to_pylist()


def _inline(query: str, params: tuple[object, ...]) -> str:
    """``query`` with each ``?`` replaced by its value as a SQL literal."""
    parts = query.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError(f"{len(parts) - 1} placeholders for {len(params)} values in {query!r}")
    literals = [_literal(value) for value in params]
    return parts[0] + "".join(literal + part for literal, part in zip(literals, parts[1:]))


def _literal(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"quick queries take strings and integers, not {type(value).__name__}")
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"


@contextmanager
def open_file(path: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """The DuckDB file, read-only, when it exists and is at this layout; otherwise None (open the workspace,
    which creates or migrates it)."""
    connection = _connect(path) if path.exists() else None
    try:
        yield connection
    finally:
        if connection is not None:
            connection.close()


def _connect(path: Path) -> duckdb.DuckDBPyConnection | None:
    import duckdb

    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:  # not a DuckDB file, or another process writes to it: the workspace says which
        return None
    try:
        version = connection.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    except duckdb.Error:
        version = None
    if version != LAYOUT_VERSION:
        connection.close()
        return None
    return connection
