"""Predictive traits on a real local Spark: the same model and traits as on DuckDB, the new triples
scored in Spark's Python workers (a first scoring reads every customer's purchase history)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from audiences_support import open_shop, shop
from driver_reads import counting_rows

import segmento
from segmento.store.engines.spark import connect_spark
from segmento.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
FIT, SCORE = "2024-06-30", "2024-09-30"


def traits(ws: segmento.Workspace) -> list[tuple]:
    return sorted(tuple(row.values()) for row in ws.predictive_traits(SCORE).to_pyarrow().to_pylist())


def test_predictive_fit_and_traits_on_spark_equal_duckdb(spark: Any, tmp_path: Path) -> None:
    data = shop(seed=5, customers=300)
    duck = open_shop(tmp_path / "shop.duckdb", data)
    duck.fit_predictive(FIT)
    expected, expected_model = traits(duck), duck.predictive_model()
    con = connect_spark(spark, database="predictive_spark")
    try:
        ws = Workspace(con)
        for table in ("customers", "orders", "events", "consents"):
            assert ws.ingest(table, pd.DataFrame(data[table])).loaded == len(data[table])
        ws.fit_predictive(FIT)
        counted: list[int] = []
        counting_rows(con, counted)
        ws.predictive_traits(SCORE)  # scores and stores the triples not seen yet
        read_back = list(counted)
        scored = con.table("predictive_scores").count().execute()
        got, model = traits(ws), ws.predictive_model()
    finally:
        spark.sql("DROP DATABASE IF EXISTS predictive_spark CASCADE")
        spark.catalog.setCurrentDatabase("default")
    # the fit reads its distinct histories in one order on every engine: the same model to the last digit
    assert (model.params, model.spend_params, model.fit) == (
        expected_model.params, expected_model.spend_params, expected_model.fit)
    assert got == expected and len(got) > 200
    # scoring read back the model and a few scalars, never a triple
    assert scored > 200 and sum(read_back) <= 10, read_back
