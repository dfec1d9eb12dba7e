"""One local Spark session for the whole test run (starting one costs seconds; two would compete).

`make test` installs PySpark and Java, so a missing one fails the Spark tests instead of
skipping them; deselect them with `-m "not spark"` on a machine without Spark.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A small local Spark session: two cores, two shuffle partitions, no UI, warehouse in a temp directory."""
    try:
        import pyspark.sql  # noqa: F401
    except ImportError:
        pytest.fail("PySpark is missing: `make install-test` installs it (or deselect with -m 'not spark')")
    if shutil.which("java") is None:
        pytest.fail("Spark needs Java: `make install-test` installs openjdk-17-jre-headless (or deselect with -m 'not spark')")
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
