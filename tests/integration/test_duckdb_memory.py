"""`engine.memory_limit` bounds the DuckDB file's memory (the service's, the batch's); by default
DuckDB keeps its own limit. DuckDB itself is the oracle of what a limit string means."""

from __future__ import annotations

from pathlib import Path

import duckdb

import segmento
from segmento.config import parse_project


def setting(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_the_project_memory_limit_is_the_databases(tmp_path: Path) -> None:
    project = parse_project(f"database: {tmp_path / 'shop.duckdb'}\nengine:\n  memory_limit: 300MB\n")
    with segmento.connect(config=project) as ws:
        limited = setting(ws.con.con)
    with segmento.connect(tmp_path / "other.duckdb") as ws:
        default = setting(ws.con.con)
    assert limited == setting(duckdb.connect(config={"memory_limit": "300MB"})) != default
    assert default == setting(duckdb.connect())
