"""The whole monthly batch flow on DuckDB and on a real local Spark: every output equal, row by row.

One generated base (2,000 customers, 12 months; consents read from CSV, the rest from
Parquet) goes through load, fit, a 12-month backfill, a re-run period, two audience
refreshes, an audience export, delivery and an erasure on each engine. Then every
table and every dynamics view is compared. DuckDB is the oracle: it is the engine the
rest of the suite checks against brute-force computations.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import segmento
from segmento.config import load_project
from segmento.demo.generator import write_demo
from segmento.store.engines.spark import connect_spark
from segmento.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
CUSTOMERS, MONTHS, END = 2000, 12, date(2024, 12, 31)
SEGMENTATIONS = ("value", "rfm", "behaviour")
IGNORED = {  # columns that hold a wall-clock time or a random run id, by design different per run
    "alerts": {"created_at"},
    "audience_changes": {"change_id", "reason", "recorded_at"},
    "audience_refreshes": {"refresh_id", "started_at", "seconds"},
    "ingestions": {"ingestion_id", "started_at"},
    "quarantine": {"ingestion_id"},
    "activation_outbox": {"message_id", "source_id", "payload", "created_at", "next_attempt_at", "settled_at"},
    "erased_customers": {"erased_at"},
}
COMPARED = ("customers", "orders", "order_lines", "events", "consents", "quarantine", "ingestions",
            "segment_snapshots", "alerts", "audience_changes", "audience_refreshes", "activation_outbox", "erased_customers")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    write_demo(folder, CUSTOMERS, MONTHS, seed=11, end=END)
    consents = folder / "consents.parquet"
    pcsv.write_csv(pq.read_table(consents), folder / "consents.csv")
    consents.unlink()
    return folder


def project(out: Path) -> Any:
    demo = load_project(Path(__file__).parents[2] / "examples" / "demo.yaml")
    crm = demo.destinations[0].model_copy(update={"path": str(out / "exports")})
    return demo.model_copy(update={"destinations": [crm]})


def run_flow(ws: Workspace, base: Path) -> dict[str, Any]:
    """Everything a monthly batch does, then what each output holds."""
    for table in ("customers", "orders", "order_lines", "events"):
        ws.ingest(table, base / f"{table}.parquet")
    ws.ingest("consents", base / "consents.csv")
    for name in SEGMENTATIONS:
        ws.fit_segmentation(name, END)
    ws.backfill("2024-01", "2024-12")
    ws.snapshot("2024-06")  # a period taken again replaces itself
    ws.refresh_audiences(datetime(2024, 11, 30, 20))
    ws.refresh_audiences(datetime(2024, 12, 31, 20))
    export = ws.export_audience("email-reachable-vips", "crm-drop")
    delivered = ws.deliver()
    alerted = ws.alerts(limit=1).to_pyarrow().column("customer_id")[0].as_py()
    forgotten = ws.forget(alerted)
    periods = ws.periods("value")
    out: dict[str, Any] = {name: rows(ws, name) for name in COMPARED}
    out["transitions"] = {
        (name, str(a)): ws.transitions(name, a, b).counts.to_dict()
        for name in SEGMENTATIONS for a, b in zip(periods, periods[1:])
    }
    out["trajectories"] = ws.trajectories("value", last=12).paths.sort_values("customer_id").to_dict("records")
    markov = ws.markov("value")
    out["markov"] = (markov.states, [round(p, 9) for p in markov.P.ravel()])
    out["export"] = (export.members, export.filtered, export.sent)
    out["delivered"] = {name: vars(tally) for name, tally in delivered.tallies.items()}
    out["forgotten"] = (alerted, forgotten)
    out["periods"] = periods
    return out


def rows(ws: Workspace, name: str) -> list[tuple]:
    """Every row of a table (minus run-specific columns), floats to 9 significant digits, sorted."""
    table = ws.table(name)
    columns = sorted(c for c in table.columns if c not in IGNORED.get(name, set()))
    data = table.select(*columns).to_pyarrow().to_pylist()
    return sorted((tuple(_stable(row[c]) for c in columns) for row in data), key=repr)


def _stable(value: object) -> object:
    if isinstance(value, float) and math.isfinite(value) and value:
        return float(f"{value:.9g}")
    if isinstance(value, list):
        return tuple(value)
    return value


@pytest.fixture(scope="module")
def duckdb_run(base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("duckdb")
    with segmento.connect(out / "kb.duckdb", project(out)) as ws:
        return run_flow(ws, base)


@pytest.fixture(scope="module")
def spark_run(base: Path, spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("spark")
    con = connect_spark(spark, database="flow")
    with Workspace(con, project(out)) as ws:
        yield run_flow(ws, base)
    spark.sql("DROP DATABASE flow CASCADE")
    spark.catalog.setCurrentDatabase("default")


@pytest.mark.parametrize("name", COMPARED)
def test_every_table_is_equal_on_spark(duckdb_run: dict, spark_run: dict, name: str) -> None:
    expected, got = duckdb_run[name], spark_run[name]
    assert expected, f"{name} is empty: nothing compared"
    missing = [row for row in expected if row not in set(got)][:3]
    extra = [row for row in got if row not in set(expected)][:3]
    assert (len(got), missing, extra) == (len(expected), [], [])


@pytest.mark.parametrize("view", ["transitions", "trajectories", "markov", "export", "delivered", "forgotten", "periods"])
def test_every_dynamics_and_activation_result_is_equal_on_spark(duckdb_run: dict, spark_run: dict, view: str) -> None:
    assert spark_run[view] == duckdb_run[view]


def test_the_flow_covered_what_it_compares(duckdb_run: dict) -> None:
    """A NULL gender loaded as NULL, every period taken once, alerts, changes and an erasure happened."""
    genders = {row[4] for row in duckdb_run["customers"]}
    assert None in genders and "NaN" not in genders
    assert len(duckdb_run["periods"]) == 12
    assert duckdb_run["alerts"] and duckdb_run["audience_changes"] and duckdb_run["activation_outbox"]
    customer, removed = duckdb_run["forgotten"]
    assert removed["customers"] == 1 and removed["alerts"] >= 1
    assert all(customer not in row for row in duckdb_run["segment_snapshots"])
