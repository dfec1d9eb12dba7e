"""Workspace: a knowledge-base connection plus a project config. The library's front door.

It stays thin: each method hands over to the module that owns the stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
from ibis.backends import BaseBackend

from segmento.config import Project, load_project
from segmento.store.backend import ensure_tables, open_backend
from segmento.store.ingest import IngestionReport, Source, ingest


class Workspace:
    """An open knowledge base and the project that describes it."""

    def __init__(self, con: BaseBackend, project: Project | None = None) -> None:
        self.con = con
        self.project = project or Project()
        ensure_tables(con)

    def table(self, name: str) -> ibis.Table:
        """A knowledge-base table as an Ibis expression."""
        return self.con.table(name)

    def ingest(self, table: str, source: Source, **options: Any) -> IngestionReport:
        """Load a CSV/Parquet file or a pandas/Polars/Arrow frame into ``table``.

        Options: ``columns`` (our name -> the file's name), ``date_format``,
        ``timestamp_format``, ``delimiter``, ``encoding``, ``progress``.
        """
        return ingest(self.con, table, source, **options)

    def close(self) -> None:
        self.con.disconnect()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(target: str | Path | None = None, config: str | Path | Project | None = None) -> Workspace:
    """Open (or create) a knowledge base.

    ``target`` is a DuckDB file path or an Ibis URL; when omitted, the project's
    ``database`` is used. ``config`` is a segmento.yaml path or a Project.
    """
    project = load_project(config) if isinstance(config, (str, Path)) else config
    if target is None:
        target = project.database if project else "segmento.duckdb"
    return Workspace(open_backend(target), project)
