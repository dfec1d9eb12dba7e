"""The CLI starts light: `segmento --help` and importing the package load no stage's heavy
libraries (they are imported where a verb uses them). A structural check, not a timing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from segmento.cli.store import LOAD_ORDER
from segmento.store.schema import TABLES

HEAVY = ("sklearn", "scipy", "plotly", "pandas", "ibis", "duckdb", "fastapi", "uvicorn")


def imported_by(*args: str, exit_code: int = 0) -> set[str]:
    """Top-level modules a fresh interpreter imports to run ``args`` (from -X importtime)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, env=env)
    assert done.returncode == exit_code, done.stderr[-2000:]
    return {m.group(1).split(".")[0] for m in re.finditer(r"^import time:.*\|\s+(\S+)$", done.stderr, re.M)}


def test_importing_the_package_and_the_cli_loads_no_heavy_library():
    assert imported_by("-c", "import segmento, segmento.cli") & set(HEAVY) == set()


def test_help_loads_no_heavy_library():
    loaded = imported_by("-m", "segmento.cli", "--help")
    assert "typer" in loaded  # the probe sees the CLI's own imports
    assert loaded & set(HEAVY) == set()


def test_the_cli_knows_the_knowledge_base_tables_parents_first():
    assert set(LOAD_ORDER) == set(TABLES)
    assert LOAD_ORDER.index("customers") < LOAD_ORDER.index("orders") < LOAD_ORDER.index("order_lines")


def test_verbs_that_open_a_base_load_no_modelling_or_charting_library(tmp_path):
    """Reading the project file and opening the base must not pay for scikit-learn, SciPy or
    Plotly: only the verbs that fit, score or draw load them."""
    db = str(tmp_path / "e.duckdb")
    for verb in (["gdpr", "status"], ["quarantine"], ["delivery-status"], ["alerts"]):
        loaded = imported_by("-m", "segmento.cli", *verb, "--db", db, "--config", "examples/demo.yaml")
        assert "duckdb" in loaded, verb  # the probe sees the base being opened
        assert loaded & {"sklearn", "scipy", "plotly"} == set(), verb


def test_listing_verbs_read_a_base_at_this_layout_without_ibis_or_pandas(tmp_path):
    """status, quarantine, keys list, gdpr status, delivery-status, alerts and models read the DuckDB file itself:
    no Ibis, pandas, Arrow or sqlglot (together about 2 s of CPU at every call)."""
    import segmento

    db = str(tmp_path / "e.duckdb")
    with segmento.connect(db) as ws:  # created at this layout, its GDPR secret recorded
        ws.pseudonyms  # noqa: B018
    verbs = (["status"], ["quarantine", "--table", "orders"], ["keys", "list"], ["gdpr", "status"], ["delivery-status"],
             ["alerts", "--period", "2024-06", "--kind", "negative"], ["models", "value"])
    for verb in verbs:
        loaded = imported_by("-m", "segmento.cli", *verb, "--db", db, exit_code=2 if verb[0] == "models" else 0)
        assert "duckdb" in loaded, verb  # the probe sees the file being read
        assert loaded & {"ibis", "pandas", "pyarrow", "sqlglot", "numpy"} == set(), verb
