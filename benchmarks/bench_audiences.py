"""Audiences: batch evaluation of 20 audiences as of a date, and real-time event -> membership latency.

Scale 1.0 = 1M customers (~30M orders, ~60M events) from the demo generator; ``make bench``
runs 0.1. The knowledge base is the features benchmark's cached file, copied so the
events and history written here never leak into other benchmarks. Figures are printed,
never asserted. The nearest alternative for real time is what one would do without the
in-memory path: the batch expression filtered to the event's customer.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import shutil
import statistics
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import segmento
from benchmarks.bench_features import CACHE, _knowledge_base
from benchmarks.common import line, peak_rss_mb, section, timed
from segmento.audiences import Audiences

AS_OF = date(2024, 12, 31)
AUDIENCES = {
    "men_30_40_tennis": "gender = 'M' AND age BETWEEN 30 AND 40 AND 'tennis' IN interests_90d",
    "hiking_size_42_43": "searched(category = 'hiking shoes', size IN ('42', '43'), within = '30d') "
                         "OR contacted(category = 'hiking shoes', within = '30d')",
    "inactive_3m": "orders_lifetime > 0 AND recency_days > 90",
    "email_vips": "spend_12m >= 500 AND consent_email",
    "engaged_email_vips": "in_audience('email_vips') AND email_open_rate_12m >= 0.2",
    "new_customers": "tenure_days <= 90",
    "one_timers": "orders_lifetime = 1",
    "loyal": "orders_12m >= 6",
    "big_baskets": "avg_basket >= 120",
    "promo_lovers": "promo_order_share_12m >= 0.5",
    "sms_reachable": "consent_sms AND NOT consent_email",
    "social_fans": "social_90d >= 3",
    "web_first": "share_web_12m >= 0.6",
    "store_only": "share_store_12m = 1",
    "service_heavy": "chatbot_90d >= 2 OR call_90d >= 2 OR selfcare_90d >= 3",
    "cart_abandoners": "carted(within = '7d') AND recency_days > 7",
    "runners": "'running' IN interests_30d",
    "women_yoga": "gender = 'F' AND 'yoga' IN interests_90d",
    "young_city": "age < 30 AND city IN ('Paris', 'Lyon')",
    "window_shoppers": "viewed(within = '30d') >= 5 AND orders_90d = 0",
}
CATEGORIES = ["tennis", "hiking shoes", "running", "yoga", "swimming", "ski", None]
TYPES = ["product_view", "product_view", "search", "add_to_cart", "page_view", "email_open", "chatbot"]


def run(scale: float = 0.1) -> None:
    customers = max(1000, int(1_000_000 * scale))
    events = 2000 if scale >= 0.05 else 500
    with section(f"audiences: {len(AUDIENCES)} audiences, {customers:,} customers, demo generator, DuckDB file"):
        path = _copy(_knowledge_base(customers))
        with segmento.connect(path) as ws:
            ws.con.raw_sql("SET enable_progress_bar = false")
            audiences = Audiences(ws.con, ws.project)
            for name, rule in AUDIENCES.items():
                audiences.define(name, rule, owner="bench")
            _batch(ws, audiences, customers)
        _realtime(path, customers, events)


def _copy(source: Path) -> Path:
    target = CACHE / f"audiences-{source.stem}.duckdb"
    shutil.copy(source, target)
    return target


def _batch(ws: segmento.Workspace, audiences: Audiences, customers: int) -> None:
    table, seconds = timed(lambda: audiences.evaluate(AS_OF).to_pyarrow())
    line(f"batch: 20 audiences as of {AS_OF} (to Arrow)", seconds, customers)
    print(f"    {table.num_rows:,} memberships")
    report, seconds = timed(lambda: audiences.refresh(AS_OF))
    line("refresh as of D (evaluate + diff + history)", seconds, customers)
    report, seconds = timed(lambda: audiences.refresh(AS_OF + timedelta(days=1)))
    line("refresh as of D + 1 day (time alone moves people)", seconds, customers)
    print(f"    {sum(report.enters.values()):,} enters, {sum(report.exits.values()):,} exits")
    _, one_by_one = timed(lambda: [audiences.members(name, AS_OF).count().execute() for name in AUDIENCES])
    line("alternative: each audience on its own query", one_by_one, customers, baseline=seconds)
    found, seconds = timed(lambda: audiences.guidance(AS_OF))
    line("guidance: sizes, 20x20 overlaps, warnings", seconds, customers)
    for warning in found.warnings[:6]:
        print(f"    {warning}")


def _realtime(path: Path, customers: int, count: int) -> None:
    """In a fresh process, so the peak memory is the real-time path's own."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        f = pool.apply(_push_events, (str(path), count))
    print(f"  first event (loads the in-memory copy, the day's static features, compiles the SQL): "
          f"{f['warm']:.1f} s; copy {f['copy_mb']:,.0f} MB, peak RSS {f['peak_mb']:,.0f} MB")
    print(f"  real time: {count:,} events on {customers:,} customers x {len(AUDIENCES)} audiences "
          f"({f['moved']:,} moved someone), load average {f['load']:.1f} on {os.cpu_count()} cores:")
    wall, cpu = f["wall"], f["cpu"]
    print(f"    wall clock p50 {wall[49]:.1f} ms, p95 {wall[94]:.1f} ms, p99 {wall[98]:.1f} ms; "
          f"CPU p50 {cpu[49]:.1f} ms, p95 {cpu[94]:.1f} ms, p99 {cpu[98]:.1f} ms")
    print(f"    static features recomputed for {f['recomputed']} events (a row newer than midnight); "
          f"SQL compiled per event: {f['compiled']}")
    print(f"  alternative: batch expression filtered to the customer: median {f['naive']:,.0f} ms per event, "
          f"ratio {f['naive'] / wall[49]:,.0f}x the real-time p50")


def _push_events(path: str, count: int) -> dict:
    rng = random.Random(1)
    with segmento.connect(path) as ws:
        ws.con.raw_sql("SET enable_progress_bar = false")
        audiences = Audiences(ws.con, ws.project)
        ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
        start = datetime.combine(AS_OF + timedelta(days=2), datetime.min.time()) + timedelta(hours=9)  # after refreshes
        warm_event = _event(rng, ids, start, "WARM")
        _, warm = timed(lambda: audiences.push_event(warm_event))
        engine = audiences.realtime
        engine.seconds.clear()
        engine.cpu_seconds.clear()
        moved = sum(bool(audiences.push_event(_event(rng, ids, start + timedelta(seconds=3 * n), f"RT{n}")))
                    for n in range(count))  # fmt: skip
        peak = peak_rss_mb()
        naive = []
        for cid in rng.sample(ids, 5):
            table = audiences.evaluate(start + timedelta(hours=1))
            naive.append(timed(lambda: table.filter(table.customer_id == cid).to_pyarrow())[1] * 1000)
        return {
            "warm": warm,
            "copy_mb": sum(t.nbytes for t in engine.replica.tables.values()) / 1e6,
            "peak_mb": peak,
            "moved": moved,
            "load": os.getloadavg()[0],
            "wall": statistics.quantiles([s * 1000 for s in engine.seconds], n=100),
            "cpu": statistics.quantiles([s * 1000 for s in engine.cpu_seconds], n=100),
            "recomputed": engine.features.recomputed,
            "compiled": engine.features.compiled_per_event,
            "naive": statistics.median(naive),
        }


def _event(rng: random.Random, ids: list[str], at: datetime, event_id: str) -> dict:
    kind = rng.choice(TYPES)
    return {"event_id": event_id, "customer_id": rng.choice(ids), "occurred_at": at, "type": kind,
            "channel": "chatbot" if kind == "chatbot" else "email" if kind == "email_open" else "web",
            "category": rng.choice(CATEGORIES), "size": rng.choice(["42", "43", None])}  # fmt: skip


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.1)
    run(parser.parse_args().scale)
