"""One local Spark session for the whole test run (starting one costs seconds; two would compete)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A small local Spark session: two cores, two shuffle partitions, no UI, warehouse in a temp directory."""
    pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    from segmento.store.engines.spark import spark_session

    session, _ = spark_session(
        master="local[2]",
        warehouse=str(tmp_path_factory.mktemp("spark-warehouse")),
        conf={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            "spark.sql.session.timeZone": "UTC",
            "spark.driver.memory": "1g",
        },
    )
    yield session
    session.stop()
