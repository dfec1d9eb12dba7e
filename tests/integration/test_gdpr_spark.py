"""On Spark the physical rewrite and key rotation are DuckDB's only, and say so (erasure itself
runs on Spark through the engine's delete: tests/integration/test_cli_spark.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import ibis
import pytest

from segmento.errors import UnsupportedError
from segmento.store import pseudonyms
from segmento.store.compact import compact

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sql = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    session = (
        sql.SparkSession.builder.master("local[1]").appName("segmento-gdpr-tests")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    yield ibis.pyspark.connect(session)


def test_compaction_and_rotation_on_spark_say_what_they_cannot_do(spark_con) -> None:
    secret = pseudonyms.Pseudonyms(["k"], "test")
    with pytest.raises(UnsupportedError, match="rewrites a DuckDB file"):
        compact(spark_con)
    with pytest.raises(UnsupportedError, match="not done on pyspark"):
        pseudonyms.rotate(spark_con, secret, None)
