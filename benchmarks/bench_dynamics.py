"""Dynamics: one monthly snapshot, a 24-month backfill, and a transition matrix.

Scale 1.0 = 1M customers over 24 months (the features benchmark's cached base); the
transition matrix is also computed with a pandas crosstab on the same two periods, the
nearest everyday alternative, and the ratio printed.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd

import segmento
from benchmarks.bench_features import _knowledge_base
from benchmarks.common import line, peak_rss_mb, section, timed
from segmento.config import parse_project
from segmento.dynamics.store import snapshots

PROJECT = """
segmentations:
  - name: value
    kind: tiers
    feature: spend_12m
    tiers:
      - {id: very_good, quantile: 0.8}
      - {id: good, quantile: 0.4}
      - {id: occasional, above: 0}
      - {id: inactive}
  - {name: rfm, kind: rfm}
dynamics:
  rules:
    - {name: top-slide, segmentation: value, from: [very_good], direction: down}
    - {name: upgrade, segmentation: value, from: [occasional], to: [good, very_good], kind: positive}
"""
AS_OF = date(2024, 12, 31)


def run(scale: float = 0.1) -> None:
    customers = max(1000, int(1_000_000 * scale))
    source = _knowledge_base(customers)
    with section(f"dynamics: {customers:,} customers, 2 segmentations (value tiers, RFM), DuckDB file"), \
            tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shop.duckdb"
        shutil.copy(source, path)
        with segmento.connect(path, parse_project(PROJECT)) as ws:
            for name in ("value", "rfm"):
                ws.fit_segmentation(name, AS_OF)
            report, seconds = timed(lambda: ws.snapshot(AS_OF))
            line("one period snapshot (features + 2 segmentations)", seconds, customers)
            reports, backfill_seconds = timed(lambda: ws.backfill("2023-01", "2024-12"))
            line(f"backfill of {len(reports)} periods (+ alerts)", backfill_seconds, customers * len(reports))
            print(f"    {sum(r.alerts for r in reports):,} alerts raised; peak RSS {peak_rss_mb():,.0f} MB")

            matrix, ours = timed(lambda: ws.transitions("value", "2024-11", "2024-12"))

            def crosstab() -> pd.DataFrame:
                table = snapshots(ws.con)
                rows = table.filter((table.segmentation == "value") & table.period.isin(
                    [date(2024, 11, 30), AS_OF])).select("period", "customer_id", "segment_id").to_pandas()
                wide = rows.pivot(index="customer_id", columns="period", values="segment_id")
                return pd.crosstab(wide.iloc[:, 0].fillna("(new)"), wide.iloc[:, 1].fillna("(exit)"))

            expected, baseline = timed(crosstab)
            line("pandas crosstab of the same two periods (baseline)", baseline, customers)
            line("transition matrix with revenue, in the engine", ours, customers, baseline)
            same = all(matrix.counts.at[r, c] == expected.at[r, c] for r in expected.index for c in expected.columns)
            print(f"    same counts as the crosstab: {same}")
