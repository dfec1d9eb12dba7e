"""Audience refreshes on a real local Spark: the same changes and reasons as on DuckDB, worded in
Spark's Python workers (a first refresh moves everyone: nothing per customer comes back to the driver)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from audiences_support import NAMES, YAML, open_shop, shop
from driver_reads import counting_rows

from segmento.config import parse_project
from segmento.store.engines.spark import connect_spark
from segmento.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
REFRESHES = (date(2024, 3, 31), date(2024, 9, 30))


def changes(ws: Workspace) -> list[tuple]:
    rows = ws.audiences.changes().to_pyarrow().to_pylist()
    return sorted((r["seq"], r["customer_id"], r["audience"], r["kind"], r["why"]) for r in rows)


def test_refreshes_on_spark_equal_duckdb_and_word_changes_in_the_workers(spark: Any, tmp_path: Path) -> None:
    data = shop(seed=11, customers=300)
    duck = open_shop(tmp_path / "shop.duckdb", data)
    for day in REFRESHES:
        duck.refresh_audiences(day)
    expected = changes(duck)
    con = connect_spark(spark, database="audiences_spark")
    try:
        ws = Workspace(con, parse_project(YAML, Path("segmento.yaml")))
        for table in ("customers", "orders", "events", "consents"):
            assert ws.ingest(table, pd.DataFrame(data[table])).loaded == len(data[table])
        counted: list[int] = []
        counting_rows(con, counted)
        reports = [ws.refresh_audiences(day) for day in REFRESHES]
        read_back = list(counted)
        got = changes(ws)
    finally:
        spark.sql("DROP DATABASE IF EXISTS audiences_spark CASCADE")
        spark.catalog.setCurrentDatabase("default")
    first = sum(reports[0].enters.values())
    assert first > 100 and len(expected) > first  # a first refresh moves every member in, the next moves more
    assert got == expected
    # what the refreshes read back is per audience (counts by kind, sizes) and a few scalars, never per change
    assert sum(read_back) <= 8 * len(NAMES) * len(REFRESHES) < first, read_back
