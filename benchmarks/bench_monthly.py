"""The demo's whole monthly batch at scale: examples/demo.yaml (value tiers, RFM and the k-means
behaviour segmentation, its trajectory rules and routes) with 20 audiences, on the features
benchmark's generated base (scale 1.0 = 1M customers, 24 months, ~30M orders, ~60M events).

In a fresh child process (its own peak RSS) on its own copy of the base: fit the three
segmentations and the predictive model (setup, timed apart), backfill 2023-01..2024-11 month by
month (each month's features carried from the month before), refresh the audiences as of
2024-11-30, then the monthly run of 2024-12: the snapshot of all three segmentations with its
alerts queued to the outbox, then the audience refresh with its routed changes queued. The
baseline in the same run is the straightforward design for one month: 2024-11 taken again
alone, its features computed from the raw history instead of carried. Then the same month on a copy
of the base taken before it, by ``monthly_run`` (``segmento month``: both in one step), beside the
two steps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

from benchmarks.bench_features import _knowledge_base
from benchmarks.common import copy_sources, line, section

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo.yaml"
START, LAST_BACKFILLED, MONTH = "2023-01", "2024-11", date(2024, 12, 31)
BEFORE = date(2024, 11, 30)
EXTRA_AUDIENCES = [  # 13 more, over the catalog's usual axes, to make the demo's 7 the 20 of the goal
    ("spend-500", "spend_12m >= 500"), ("spend-200-500", "spend_12m >= 200 AND spend_12m < 500"),
    ("frequent", "orders_12m >= 6"), ("one-order", "orders_12m = 1"), ("recent", "recency_days <= 30"),
    ("lapsing", "recency_days > 90 AND orders_12m >= 1"), ("new-customers", "tenure_days <= 90"),
    ("women-25-35", "gender = 'F' AND age BETWEEN 25 AND 35"), ("seniors", "age >= 65"),
    ("quarter-buyers", "orders_90d >= 2"), ("quarter-big", "spend_90d >= 300"),
    ("loyal-long", "tenure_days >= 1000 AND orders_12m >= 3"), ("sms-reachable", "consent_sms"),
]


def project_text(exports: Path) -> str:
    """examples/demo.yaml with 20 audiences and its file destination in ``exports``."""
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    demo["audiences"] += [{"name": name, "rule": rule} for name, rule in EXTRA_AUDIENCES]
    for destination in demo["destinations"]:
        destination["path"] = str(exports)
    demo.pop("database", None)
    return yaml.safe_dump(demo, sort_keys=False)


def child(base: str, path: str, exports: str) -> None:
    """In a fresh process: copy the base (setup), fit, backfill, the monthly run; figures as JSON."""
    import resource
    import shutil

    import segmento
    from segmento.config import parse_project

    figures: dict = {}
    twin = str(Path(path).with_name("twin.duckdb"))

    def done(what: str, seconds: float) -> None:  # as it goes, on stderr: a long run's partial figures
        print(f"    [{time.strftime('%H:%M:%S')}] {what}: {seconds:.1f} s", file=sys.stderr, flush=True)

    with segmento.connect(path, parse_project(project_text(Path(exports)))) as ws:
        raw = ws.con.con
        copy_sources(raw, base)
        started = time.perf_counter()
        for name in ("value", "rfm", "behaviour"):
            ws.fit_segmentation(name, MONTH)
        for as_of in (date(2024, 6, 30), MONTH):  # as the demo: traits for the months since mid-2024
            ws.fit_predictive(as_of)
        figures["fit"] = time.perf_counter() - started
        done("fit", figures["fit"])
        marks = [time.perf_counter()]

        def month(report: object) -> None:
            marks.append(time.perf_counter())
            done(f"backfill month {len(marks) - 1}", marks[-1] - marks[-2])

        ws.backfill(START, LAST_BACKFILLED, on_period=month)
        figures["months"] = [b - a for a, b in zip(marks, marks[1:])]
        started = time.perf_counter()
        ws.snapshot(BEFORE)  # the straightforward design: the month alone, from the raw history
        figures["alone"] = time.perf_counter() - started
        done("the last month alone", figures["alone"])
        ws.refresh_audiences(BEFORE)  # the month before's memberships (setup)
        raw.execute("CHECKPOINT")
        shutil.copy(path, twin)  # the same base, for the monthly run in one step (setup)
        outbox = raw.execute("SELECT count(*) FROM activation_outbox").fetchone()[0]
        started = time.perf_counter()
        report = ws.snapshot(MONTH)
        figures["snapshot"] = time.perf_counter() - started
        done("monthly snapshot + alerts", figures["snapshot"])
        started = time.perf_counter()
        refreshed = ws.refresh_audiences(MONTH)
        figures["refresh"] = time.perf_counter() - started
        done("monthly refresh", figures["refresh"])
        figures["alerts"] = report.alerts
        figures["changes"] = sum(refreshed.enters.values()) + sum(refreshed.exits.values())
        figures["queued"] = raw.execute("SELECT count(*) FROM activation_outbox").fetchone()[0] - outbox
    with segmento.connect(twin, parse_project(project_text(Path(exports)))) as ws:
        started = time.perf_counter()
        ws.monthly_run(MONTH)  # `segmento month`: the same, what both read computed once
        figures["one_step"] = time.perf_counter() - started
        done("monthly run in one step", figures["one_step"])
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures.update(peak_mb=usage.ru_maxrss / 1024, cpu=usage.ru_utime + usage.ru_stime)
    print(json.dumps(figures))


def run(scale: float = 0.1) -> None:
    customers = max(1000, int(1_000_000 * scale))
    base = _knowledge_base(customers)
    with section(f"the demo's monthly batch: {customers:,} customers, 3 segmentations (k-means included), "
                 f"20 audiences, the demo's rules and routes"), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
        code = (f"from benchmarks.bench_monthly import child; "
                f"child({str(base)!r}, {str(folder / 'shop.duckdb')!r}, {str(folder / 'exports')!r})")
        finished = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        if finished.returncode:
            raise RuntimeError(f"the monthly batch failed (exit {finished.returncode}): its error is above")
        f = json.loads(finished.stdout.strip().splitlines()[-1])
        months = f["months"]
        line("fit: 3 segmentations + predictive (setup)", f["fit"])
        line(f"backfill of {len(months)} months ({START}..{LAST_BACKFILLED})", sum(months))
        line("a backfill month, carried (the last)", months[-1])
        line("the same month alone, from raw history", f["alone"], baseline=months[-1])
        line("monthly run: snapshot + alerts + outbox", f["snapshot"])
        line("monthly run: audience refresh + outbox", f["refresh"])
        line("monthly run, whole: snapshot then refresh", f["snapshot"] + f["refresh"])
        line("monthly run in one step (`segmento month`)", f["one_step"], baseline=f["snapshot"] + f["refresh"])
        print(f"    each month (s): {' '.join(f'{m:.1f}' for m in months)}; mean of the last 6 / of months 13-18 "
              f"{sum(months[-6:]) / max(sum(months[12:18]), 1e-9):.2f}x")
        print(f"    {f['alerts']:,} alerts, {f['changes']:,} audience changes, {f['queued']:,} messages queued; "
              f"peak RSS {f['peak_mb']:,.0f} MB; CPU of the child {f['cpu']:,.0f} s")
        print(f"    machine load (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
