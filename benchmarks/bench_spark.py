"""The monthly batch on local Spark beside DuckDB: one snapshot, a 12-month backfill, and the
most frequent trajectories over those 12 periods (the pivot runs in the engine).

Scale 1.0 = 1M customers over 24 months of history (the features benchmark's cached
base); the same base is copied once into Parquet tables of a Spark warehouse (setup,
not timed). Spark runs local[2] on this machine: it is slower than DuckDB on one box
(JVM, task scheduling, Parquet rewrites); what the figure shows is the cost of running
the same code that scales out on a cluster. The ratio is Spark's time over DuckDB's.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import segmento
from benchmarks.bench_dynamics import PROJECT
from benchmarks.bench_features import _knowledge_base
from benchmarks.common import line, peak_rss_mb, section, timed
from segmento.config import parse_project
from segmento.store.engines.spark import connect_spark
from segmento.store.schema import TABLES
from segmento.workspace import Workspace

AS_OF = date(2024, 12, 31)
# SEGMENTO_BENCH_SPARK_MONTHS shortens the backfill (12 by default) when a machine cannot give Spark the time
MONTHS = int(os.environ.get("SEGMENTO_BENCH_SPARK_MONTHS", "12"))
FIRST = f"2024-{13 - MONTHS:02d}"


def run(scale: float = 0.1) -> None:
    customers = max(2000, int(1_000_000 * scale))
    source = _knowledge_base(customers)
    project = parse_project(PROJECT)
    with section(f"spark: {customers:,} customers, snapshot + {MONTHS}-month backfill (value tiers, RFM), "
                 "local[2] beside a DuckDB file"), tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shop.duckdb"
        shutil.copy(source, path)
        duck = {}
        with segmento.connect(path, project) as ws:
            for name in ("value", "rfm"):
                ws.fit_segmentation(name, AS_OF)
            _, duck["snapshot"] = timed(lambda: ws.snapshot(AS_OF))
            _, duck["backfill"] = timed(lambda: ws.backfill(FIRST, AS_OF))
            _, duck["paths"] = timed(lambda: ws.trajectories("value", last=MONTHS).top_paths(10))
            for name in TABLES:  # the same base for Spark, as Parquet files (setup)
                ws.table(name).to_parquet(Path(tmp) / f"{name}.parquet")
        line("DuckDB: one period snapshot", duck["snapshot"], customers)
        line(f"DuckDB: backfill of {MONTHS} periods (+ alerts)", duck["backfill"], customers * MONTHS)
        line(f"DuckDB: top paths over {MONTHS} periods", duck["paths"], customers * MONTHS)

        memory = os.environ.get("SEGMENTO_BENCH_SPARK_MEMORY", "4g")
        con = connect_spark(master="local[2]", warehouse=str(Path(tmp) / "warehouse"), conf={
            "spark.driver.memory": memory, "spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "false"})
        try:
            session = con._session
            with Workspace(con, project) as ws:
                for name in TABLES:  # cast to the declared schema (Parquet from DuckDB has timestamps without zone)
                    frame = session.read.parquet(str(Path(tmp) / f"{name}.parquet"))
                    target = session.table(name).schema
                    frame.select(*[frame[f.name].cast(f.dataType) for f in target]).write.insertInto(name)
                for name in ("value", "rfm"):
                    ws.fit_segmentation(name, AS_OF)
                _, snapshot = timed(lambda: ws.snapshot(AS_OF))
                _, backfill = timed(lambda: ws.backfill(FIRST, AS_OF))
                _, paths = timed(lambda: ws.trajectories("value", last=MONTHS).top_paths(10))
        finally:
            con._session.stop()
        line("Spark: one period snapshot", snapshot, customers, duck["snapshot"])
        line(f"Spark: backfill of {MONTHS} periods (+ alerts)", backfill, customers * MONTHS, duck["backfill"])
        line(f"Spark: top paths over {MONTHS} periods", paths, customers * MONTHS, duck["paths"])
        print(f"    peak RSS of this process {peak_rss_mb():,.0f} MB (the Spark driver's JVM is apart: {memory})")
