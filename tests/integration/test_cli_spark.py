"""The CLI with the project's engine section set to Spark: the monthly verbs run on Parquet tables,
the operational state (audit log, outbox, keys) in the project's DuckDB file."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from segmento.cli import app
from segmento.demo.generator import write_demo

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
ENGINE = """\
engine:
  analytics: spark
  master: local[2]
  spark_database: cli_spark
"""
PROJECT = """\
database: {ops}
{engine}destinations:
  - {{name: drop, type: file, path: "{drops}", format: csv}}
exports:
  - {{audience: big, to: drop, every: daily}}
segmentations:
  - name: value
    kind: tiers
    feature: spend_12m
    tiers: [{{id: top, quantile: 0.7}}, {{id: buyer, above: 0}}, {{id: none}}]
dynamics:
  rules: [{{name: slide, segmentation: value, from: [top], direction: down, journey: win-back}}]
audiences:
  - {{name: big, rule: "spend_12m >= 500"}}
"""


def project_file(folder: Path, engine: str) -> Path:
    """A project in ``folder`` (its files, drops and, on DuckDB, the base there), on the given engine."""
    folder.mkdir(exist_ok=True)
    config = folder / "segmento.yaml"
    config.write_text(PROJECT.format(ops=folder / "ops.duckdb", engine=engine, drops=folder / "drops"))
    return config


def cli(config: Path) -> Callable[..., str]:
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "-c", str(config)], catch_exceptions=False, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output

    return run


EXPORT_VERBS = (  # (file name, command): every verb that writes customers out
    ("members.csv", ("members", "big", "--as-of", "2024-12-31", "--out")),
    ("members.parquet", ("members", "big", "--as-of", "2024-12-31", "--out")),
    ("segments.parquet", ("segments", "value", "--as-of", "2024-12-31", "--out")),
    ("segments.csv", ("segments", "value", "--as-of", "2024-12-31", "--out")),
)


def exported(run: Callable[..., str], folder: Path, customer: str) -> dict[str, Any]:
    """What the export verbs write, read back as sorted rows (the drops' run-specific file names left out)."""
    out: dict[str, Any] = {}
    for name, command in EXPORT_VERBS:
        assert "wrote" in run(*command, str(folder / name))
        table = (pq.read_table if name.endswith(".parquet") else pcsv.read_csv)(folder / name)
        out[name] = sorted(map(repr, table.to_pylist()))
    assert "big -> drop" in run("export", "big", "--to", "drop")  # on demand
    run("deliver")  # the scheduled daily export of `big` is due
    drops = sorted((folder / "drops" / "export-big").glob("*.csv"))
    out["drops"] = sorted(sorted(map(repr, pcsv.read_csv(f).to_pylist())) for f in drops)
    run("gdpr", "export", customer, "--out", str(folder / "access.json"))
    held = json.loads((folder / "access.json").read_text())["data"]
    out["access"] = {name: len(rows) for name, rows in held.items() if name not in DIFFERENT_BY_DESIGN}
    return out


DIFFERENT_BY_DESIGN = {"audit_log"}  # the Spark run's audit log also holds its own earlier steps


def test_the_monthly_verbs_on_spark(spark: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_demo(data, 150, 6, seed=5, end=date(2024, 12, 31))
    pcsv.write_csv(pq.read_table(data / "orders.parquet"), data / "orders.csv")  # one table from CSV
    (data / "orders.parquet").unlink()
    (data / "truth.parquet").unlink()
    run = cli(config := project_file(tmp_path, ENGINE))
    duck = cli(project_file(tmp_path / "duckdb", ""))  # the same verbs on DuckDB: the export verbs' oracle
    for verb in (duck, run):
        assert "0 rejected" in verb("load", str(data))
        verb("fit", "value", "--as-of", "2024-12-31")
    try:
        for verb in (duck, run):
            assert "2024-12-31" in verb("backfill", "--from", "2024-10", "--to", "2024-12")
            verb("refresh", "--as-of", "2024-12-31")
        run("transitions", "value", "--from", "2024-11", "--to", "2024-12")
        run("alerts")
        customer = spark.sql("SELECT min(customer_id) FROM cli_spark.customers").collect()[0][0]
        on_duckdb, on_spark = exported(duck, tmp_path / "duckdb", customer), exported(run, tmp_path, customer)
        assert on_duckdb["members.csv"] and len(on_duckdb["drops"]) == 2 and on_duckdb["access"]["customers"] == 1
        assert on_spark == on_duckdb
        assert "customers" in run("gdpr", "forget", customer, "--yes")

        periods = spark.sql("SELECT DISTINCT period FROM cli_spark.segment_snapshots").collect()
        assert sorted(str(r.period) for r in periods) == ["2024-10-31", "2024-11-30", "2024-12-31"]
        loaded = spark.sql("SELECT count(*) FROM cli_spark.orders").collect()[0][0]
        held = pq.read_table(data / "customers.parquet").num_rows
        assert spark.sql("SELECT count(*) FROM cli_spark.customers").collect()[0][0] == held - 1
        assert loaded > 0
        for table in ("customers", "orders", "segment_snapshots", "audience_changes"):
            assert spark.sql(f"SELECT count(*) FROM cli_spark.{table} WHERE customer_id = '{customer}'").collect()[0][0] == 0
        warehouse = {t.name for t in spark.catalog.listTables("cli_spark")}
        with duckdb.connect(str(tmp_path / "ops.duckdb"), read_only=True) as ops:  # the operational store
            held_apart = {name for (name,) in ops.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            actions = [a for (a,) in ops.execute("SELECT action FROM audit_log").fetchall()]
        assert held_apart == {"activation_outbox", "activation_exports", "api_keys", "audit_log", "campaigns", "campaign_targets"}
        assert not held_apart & warehouse and "customers" in warehouse and "erasure" in actions
    finally:
        spark.sql("DROP DATABASE IF EXISTS cli_spark CASCADE")
        spark.catalog.setCurrentDatabase("default")
