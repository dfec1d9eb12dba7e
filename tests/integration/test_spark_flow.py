"""The whole monthly batch flow on DuckDB and on a real local Spark: every output equal, row by row.

One generated base (2,000 customers, 24 months of history so that the backfilled
periods have complete 12-month windows; consents read from CSV, the rest from Parquet)
goes through load, fit, a backfill of the last 12 months, a re-run period, two audience refreshes, an
audience export, delivery and an erasure on each engine (on Spark, with the outbox,
export log, keys and audit log in an operational DuckDB file). Then every table and
every dynamics view is compared. DuckDB is the oracle: it is the engine the rest of the
suite checks against brute-force computations.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import ibis
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

import segmento
from segmento.config import parse_project
from segmento.demo.generator import write_demo
from segmento.store.engines import engine_of
from segmento.store.engines.spark import connect_spark
from segmento.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
CUSTOMERS, HISTORY, END = 2000, 24, date(2024, 12, 31)  # 24 months: 12-month windows complete from 2024-01
BACKFILL = ("2024-01", "2024-12")  # a year: eleven moves between periods raise alerts
SEGMENTATIONS = ("value", "rfm", "behaviour")
IGNORED = {  # columns that hold a wall-clock time or a random run id, by design different per run
    "alerts": {"created_at"},
    "audience_changes": {"change_id", "reason", "recorded_at"},
    "audience_refreshes": {"refresh_id", "started_at", "seconds"},
    "ingestions": {"ingestion_id", "started_at"},
    "activation_outbox": {"message_id", "source_id", "payload", "created_at", "next_attempt_at", "settled_at"},
    "erased_customers": {"erased_at", "compacted_at", "id_hash"},  # pseudonyms are keyed by each base's own secret
}
# the quarantine is not listed: this generated base has no bad row (the run log's counts are compared)
COMPARED = ("customers", "orders", "order_lines", "events", "consents", "ingestions",
            "segment_snapshots", "alerts", "audience_changes", "audience_refreshes", "activation_outbox", "erased_customers")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("base")
    write_demo(folder, CUSTOMERS, HISTORY, seed=11, end=END)
    consents = folder / "consents.parquet"
    pcsv.write_csv(pq.read_table(consents), folder / "consents.csv")
    consents.unlink()
    return folder


PROJECT = """\
audiences:
  - {name: men-30-40-tennis, rule: "gender = 'M' AND age BETWEEN 30 AND 40 AND 'tennis' IN interests_90d"}
  - {name: hiking-shoes-43, rule: "viewed(category = 'hiking shoes', size = 43, within = '30d') OR searched(category = 'hiking shoes', within = '30d')"}
  - {name: inactive-3-months, rule: "recency_days > 90"}
  - {name: email-reachable-vips, rule: "spend_12m >= 1000 AND consent_email"}
segmentations:
  - name: value
    kind: tiers
    feature: spend_12m
    tiers: [{id: very_good, quantile: 0.8}, {id: good, quantile: 0.4}, {id: occasional, above: 0}, {id: inactive}]
  - {name: rfm, kind: rfm}
  - name: behaviour
    kind: kmeans
    features: [spend_12m, orders_12m, recency_days, avg_basket, share_web_12m, share_app_12m,
               promo_spend_share_12m, email_open_rate_12m, social_90d]
    fill: {recency_days: 730, email_open_rate_12m: 0}
    active: orders_lifetime
    k: auto
dynamics:
  rules:
    - {name: top-tier-slide, segmentation: value, from: [very_good], direction: down, journey: win-back}
    - {name: good-slide, segmentation: value, from: [good], to: [occasional, inactive], min_value: 100}
    - {name: occasional-to-good, segmentation: value, from: [occasional], to: [good, very_good], kind: positive}
destinations:
  - {name: crm-drop, type: file, path: "{out}", format: csv}
routes:
  - {name: intent, audiences: [hiking-shoes-43], changes: [enter], to: [crm-drop]}
  - {name: attrition, alerts: [top-tier-slide, good-slide], to: [crm-drop]}
"""


def project(out: Path) -> Any:
    return parse_project(PROJECT.replace("{out}", str(out / "exports")))


def run_flow(ws: Workspace, base: Path) -> dict[str, Any]:
    """Everything a monthly batch does, then what each output holds."""
    for table in ("customers", "orders", "order_lines", "events"):
        ws.ingest(table, base / f"{table}.parquet")
    ws.ingest("consents", base / "consents.csv")
    for name in SEGMENTATIONS:
        ws.fit_segmentation(name, END)
    ws.backfill(*BACKFILL)
    ws.snapshot("2024-11")  # a period taken again replaces itself
    ws.refresh_audiences(datetime(2024, 11, 30, 20))
    ws.refresh_audiences(datetime(2024, 12, 31, 20))
    export = ws.export_audience("email-reachable-vips", "crm-drop")
    delivered = ws.deliver()
    alerted = ws.alerts(limit=1).to_pyarrow().column("customer_id")[0].as_py()
    forgotten = ws.forget(alerted).removed  # rows removed per table (the physical note differs by engine, by design)
    periods = ws.periods("value")
    out: dict[str, Any] = {name: rows(ws, name) for name in COMPARED}
    out["transitions"] = {
        (name, str(a)): ws.transitions(name, a, b).counts.to_dict()
        for name in SEGMENTATIONS for a, b in zip(periods, periods[1:])
    }
    out["trajectories"] = ws.trajectories("value", last=3).paths.sort_values("customer_id").to_dict("records")
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
    con = connect_spark(spark, database="flow", operational=engine_of(ibis.duckdb.connect(str(out / "operational.duckdb"))))
    with Workspace(con, project(out)) as ws:
        yield run_flow(ws, base)
    spark.sql("DROP DATABASE flow CASCADE")
    spark.catalog.setCurrentDatabase("default")


@pytest.mark.parametrize("name", COMPARED)
def test_every_table_is_equal_on_spark(duckdb_run: dict, spark_run: dict, name: str) -> None:
    expected, got = duckdb_run[name], spark_run[name]
    assert expected, f"{name} is empty: nothing compared"
    missing = list((Counter(expected) - Counter(got)).elements())[:3]  # as many times as each row is held
    extra = list((Counter(got) - Counter(expected)).elements())[:3]
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
