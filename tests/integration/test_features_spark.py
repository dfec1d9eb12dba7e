"""The same feature catalog on a real local Spark session (Ibis PySpark backend) equals DuckDB.

Run alone with ``pytest -m spark``. One small session for the whole test run (conftest.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import ibis
import pyarrow as pa
import pytest

import segmento
from segmento.config import parse_project
from segmento.demo import generate
from segmento.features import compute_features
from segmento.store.schema import TABLES

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
AS_OF = datetime(2024, 9, 30, 18, 30)  # an instant: the date-only path is the same code with another literal

PROJECT = parse_project("""\
features:
  custom:
    - name: running_spend_12m
      table: order_lines
      aggregation: sum
      column: spend
      where: category in ('running', 'hiking shoes') and quantity >= 1
      window: 12m
    - name: sizes_seen_90d
      table: events
      aggregation: count_distinct
      column: size
      where: type = 'product_view' and size is not null
      window: 90d
    - name: running_share
      expr: round(running_spend_12m / nullif(spend_12m, 0), 6)
""")


@pytest.fixture(scope="module")
def shop() -> dict[str, pa.Table]:
    tables = generate(300, 24, seed=7).tables()
    return {
        name: tables[name].select(spec.column_names).cast(spec.schema.to_pyarrow())
        for name, spec in TABLES.items()
    }


@pytest.fixture(scope="module")
def engines(shop: dict[str, pa.Table], spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    duck = segmento.connect(tmp_path_factory.mktemp("duck") / "kb.duckdb")
    for name, table in shop.items():
        duck.con.insert(name, table)
    for name, table in shop.items():
        spark.createDataFrame(table).createOrReplaceTempView(name)
    yield {"duckdb": duck.con, "pyspark": ibis.pyspark.connect(spark)}
    duck.close()
    for name in shop:  # temporary views would hide other tests' tables of the same name
        spark.catalog.dropTempView(name)


def _rows(table: ibis.Table) -> dict[str, dict]:
    return {row.pop("customer_id"): row for row in table.to_pyarrow().to_pylist()}


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


def test_spark_gives_the_same_features_as_duckdb(engines: dict) -> None:
    duck = compute_features(engines["duckdb"], AS_OF, PROJECT)
    spark = compute_features(engines["pyspark"], AS_OF, PROJECT)
    assert spark.schema() == duck.schema()

    expected, got = _rows(duck), _rows(spark)
    assert len(expected) > 200 and got.keys() == expected.keys()
    differences = [
        (cid, name, row[name], got[cid][name])
        for cid, row in expected.items()
        for name in row
        if not _same(row[name], got[cid][name])
    ]
    assert differences == []
    assert any(row["orders_12m"] for row in expected.values())
    assert any(row["interests_90d"] for row in expected.values())
