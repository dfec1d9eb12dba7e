"""On Spark the physical rewrite and key rotation are refused, each in one line saying why and what to do
(erasure itself runs on Spark through the engine's delete: tests/integration/test_cli_spark.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from segmento.cli import app
from segmento.errors import UnsupportedError
from segmento.store import pseudonyms
from segmento.store.compact import compact
from segmento.store.engines.spark import connect_spark

pytestmark = pytest.mark.spark
PROJECT = """\
database: {ops}
engine: {{analytics: spark, master: "local[2]", spark_database: gdpr_spark}}
"""


def test_compaction_and_rotation_on_spark_say_what_they_cannot_do(spark: Any) -> None:
    con = connect_spark(spark, database="gdpr_spark_lib")
    try:
        with pytest.raises(UnsupportedError, match="rewrites a DuckDB file"):
            compact(con)
        with pytest.raises(UnsupportedError, match="one transaction, and spark has none"):
            pseudonyms.rotate(con, pseudonyms.Pseudonyms(["k"], "test"), None)
    finally:
        spark.sql("DROP DATABASE IF EXISTS gdpr_spark_lib CASCADE")
        spark.catalog.setCurrentDatabase("default")


def test_rotate_key_on_spark_is_refused_in_one_line_and_changes_nothing(spark: Any, tmp_path: Path) -> None:
    config = tmp_path / "segmento.yaml"
    config.write_text(PROJECT.format(ops=tmp_path / "ops.duckdb"))
    try:
        result = CliRunner().invoke(app, ["gdpr", "rotate-key", "-c", str(config)], env={"COLUMNS": "400"})
        keys = sorted(p.name for p in tmp_path.iterdir() if ".key" in p.name)
        fingerprints = spark.sql("SELECT count(*) FROM gdpr_spark.gdpr_key").collect()[0][0]
    finally:
        spark.sql("DROP DATABASE IF EXISTS gdpr_spark CASCADE")
        spark.catalog.setCurrentDatabase("default")
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "rotate-key re-keys the suppression list" in result.output and "rotate on a DuckDB base" in result.output
    assert keys == ["ops.duckdb.key"] and fingerprints == 1  # the key in force, no pending chain
