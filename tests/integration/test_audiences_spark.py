"""Audience refreshes on a real local Spark: the same changes and reasons as on DuckDB, worded in
Spark's Python workers (a first refresh moves everyone: nothing per customer comes back to the driver)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from audiences_support import NAMES, YAML, open_shop, shop

from segmento.config import parse_project
from segmento.store.engines.spark import connect_spark
from segmento.workspace import Workspace

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
REFRESHES = (date(2024, 3, 31), date(2024, 9, 30))


def changes(ws: Workspace) -> list[tuple]:
    rows = ws.audiences.changes().to_pyarrow().to_pylist()
    return sorted((r["seq"], r["customer_id"], r["audience"], r["kind"], r["why"]) for r in rows)


def counting_rows(con: Any, counted: list[int]) -> None:
    """Every result Ibis hands this process from the engine adds its row count to ``counted``."""

    def wrap(read: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            result = read(*args, **kwargs)
            counted.append(1 if not hasattr(result, "__len__") else len(result))
            return result

        return run

    for name in ("execute", "to_pyarrow"):
        setattr(con, name, wrap(getattr(con, name)))

    batches = con.to_pyarrow_batches

    def streamed(*args: Any, **kwargs: Any) -> Any:
        reader = batches(*args, **kwargs)
        return iter([b for b in reader if counted.append(b.num_rows) or True])

    con.to_pyarrow_batches = streamed


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
