"""Open the knowledge base through Ibis and make sure its tables exist."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ibis
from ibis.backends import BaseBackend

from segmento.store.schema import SYSTEM_TABLES, TABLES


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


def ensure_tables(con: BaseBackend) -> None:
    """Create every knowledge-base table that does not exist yet (never alters data)."""
    existing = set(con.list_tables())
    wanted = {name: spec.schema for name, spec in TABLES.items()} | SYSTEM_TABLES
    for name, schema in wanted.items():
        if name not in existing:
            con.create_table(name, schema=schema)


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
