"""The engine layer: one adapter per engine, the only place where engines differ.

``engine_of(con)`` gives the adapter of an Ibis connection (made once per connection);
``require(con, ...)`` refuses plainly what an engine cannot do.
"""

from __future__ import annotations

from typing import Any

from ibis.backends import BaseBackend

from segmento.errors import UnsupportedError
from segmento.store.engines.base import Capabilities, Engine, equals, matching, scratch_name

__all__ = ["Capabilities", "Engine", "engine_of", "equals", "home", "matching", "require", "scratch_name"]


def _adapter(con: BaseBackend, **options: Any) -> Engine:
    if con.name == "duckdb":
        from segmento.store.engines.duckdb import DuckDBEngine

        return DuckDBEngine(con)
    if con.name == "pyspark":
        from segmento.store.engines.spark import SparkEngine

        return SparkEngine(con, **options)
    return Engine(con)


def engine_of(con: BaseBackend, **options: Any) -> Engine:
    """The adapter of ``con`` (the same one for the connection's life)."""
    engine = getattr(con, "_segmento_engine", None)
    if engine is None:
        engine = _adapter(con, **options)
        con._segmento_engine = engine
    return engine


def home(con: BaseBackend, table: str) -> BaseBackend:
    """The connection holding ``table``: ``con``, or its operational store for an operational table kept apart."""
    return engine_of(con).home(table).con


def require(con: BaseBackend, capability: str, doing: str, instead: str) -> None:
    """Raise UnsupportedError when the engine lacks ``capability`` (a Capabilities field) for ``doing``."""
    engine = engine_of(con)
    if not getattr(engine.capabilities, capability):
        raise UnsupportedError(f"the {engine.name} engine has no {capability.replace('_', ' ')}, so it cannot {doing}; {instead}")
