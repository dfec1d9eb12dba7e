"""GDPR: the cost of one erasure, logical (rows deleted by structure) and physical (the
database file rewritten so the bytes go), on the features benchmark's cached base.

Scale 1.0 = 1M customers over 24 months. The baselines are what one would write by hand
on the same file: DELETE by customer_id in the five knowledge-base tables, and a bare
``COPY FROM DATABASE`` into a new file; the ratios say what structure and the safe swap cost.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb

import segmento
from benchmarks.bench_features import _knowledge_base
from benchmarks.common import line, peak_rss_mb, section, timed


def run(scale: float = 0.1) -> None:
    customers = max(1000, int(1_000_000 * scale))
    source = _knowledge_base(customers)
    with section(f"gdpr: one erasure on {customers:,} customers (24 months), DuckDB file"), \
            tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shop.duckdb"
        shutil.copy(source, path)
        size = path.stat().st_size
        with segmento.connect(path) as ws:
            rows = ws.con.con.execute("SELECT count(*) FROM orders").fetchone()[0] + \
                ws.con.con.execute("SELECT count(*) FROM events").fetchone()[0]
            first, second = [r[0] for r in ws.con.con.execute(
                "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 2").fetchall()]
            ws.pseudonyms  # noqa: B018 - the key file is created once, outside the measure
            erasure, logical = timed(lambda: ws.forget(first, compact=False))
            line(f"forget by structure ({sum(erasure.removed.values()):,} rows)", logical)
            report, physical = timed(ws.compact)
            line(f"compaction: rewrite {size / 1e9:,.2f} GB and swap", physical, rows)
            print(f"    {report}; peak RSS {peak_rss_mb():,.0f} MB", flush=True)

        baseline_path = Path(tmp) / "baseline.duckdb"
        shutil.copy(source, baseline_path)
        raw = duckdb.connect(str(baseline_path))
        tables = ("order_lines", "orders", "events", "consents", "customers")

        def by_hand() -> None:
            raw.execute("BEGIN")
            raw.execute("DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM orders WHERE customer_id = ?)",
                        [second])
            for table in tables[1:]:
                raw.execute(f"DELETE FROM {table} WHERE customer_id = ?", [second])
            raw.execute("COMMIT")

        _, hand_delete = timed(by_hand)
        line("baseline: hand-written DELETEs (5 tables)", hand_delete)
        line("forget by structure (every declared table)", logical, baseline=hand_delete)
        catalog = raw.execute("SELECT current_database()").fetchone()[0]

        def bare_copy() -> None:
            raw.execute(f"ATTACH '{tmp}/copy.duckdb' AS copy; COPY FROM DATABASE \"{catalog}\" TO copy; DETACH copy")

        _, copy_seconds = timed(bare_copy)
        raw.close()
        line("baseline: bare COPY FROM DATABASE", copy_seconds, rows)
        line("compaction (copy + checks + swap + reopen)", physical, rows, baseline=copy_seconds)
        print(f"    per-request rewriting costs {physical:,.1f} s at this size: above a few seconds, set "
              "gdpr.compact: scheduled and run `segmento gdpr compact` nightly", flush=True)


if __name__ == "__main__":
    run()
