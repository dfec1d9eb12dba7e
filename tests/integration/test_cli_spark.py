"""The CLI with the project's engine section set to Spark: the monthly verbs run on Parquet tables,
the operational state (audit log, outbox, keys) in the project's DuckDB file."""

from __future__ import annotations

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
PROJECT = """\
database: {ops}
engine:
  analytics: spark
  master: local[2]
  spark_database: cli_spark
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


def test_the_monthly_verbs_on_spark(spark: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_demo(data, 150, 6, seed=5, end=date(2024, 12, 31))
    pcsv.write_csv(pq.read_table(data / "orders.parquet"), data / "orders.csv")  # one table from CSV
    (data / "orders.parquet").unlink()
    (data / "truth.parquet").unlink()
    config = tmp_path / "segmento.yaml"
    config.write_text(PROJECT.format(ops=tmp_path / "ops.duckdb"))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "-c", str(config)], catch_exceptions=False, env={"COLUMNS": "200"})
        assert result.exit_code == 0, result.output
        return result.output

    try:
        assert "0 rejected" in run("load", str(data))
        run("fit", "value", "--as-of", "2024-12-31")
        assert "2024-12-31" in run("backfill", "--from", "2024-10", "--to", "2024-12")
        run("transitions", "value", "--from", "2024-11", "--to", "2024-12")
        run("alerts")
        run("refresh", "--as-of", "2024-12-31")
        customer = spark.sql("SELECT min(customer_id) FROM cli_spark.customers").collect()[0][0]
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
