"""The monthly batch: a 24-month backfill month by month, then one monthly run (snapshot of two
segmentations + its alerts + an audience refresh), beside the previous implementation.

Each implementation runs in a fresh child process on its own copy of the same base (the
features benchmark's generated one), so each peak RSS is its own. The previous
implementation is the source tree at ``BENCH_BASELINE`` (a git ref, default the last commit
before the backfill carried its features), extracted with ``git archive``; without git
history the baseline is skipped and said so. Outputs are compared: memberships, and alerts
(who, which rule and period, from and to segment), rows that differ counted.
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

from benchmarks.bench_features import _knowledge_base
from benchmarks.common import copy_sources, line, section

ROOT = Path(__file__).resolve().parent.parent
BASELINE = os.environ.get("BENCH_BASELINE", "478ace0")
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
    - {name: top-slide, segmentation: value, from: [very_good], direction: down, min_change: 0.3}
    - {name: stays-down, segmentation: value, from: [very_good, good], direction: down, persist: 2}
    - {name: upgrade, segmentation: value, from: [occasional], to: [good, very_good], kind: positive}
    - {name: overdue, segmentation: value, from: [very_good, good], trigger: condition, overdue: 2}
    - {name: rfm-slide, segmentation: rfm, direction: down}
audiences:
  - {name: big-spenders, rule: "spend_12m >= 500"}
  - {name: lapsing, rule: "recency_days > 90 and orders_12m >= 1"}
  - {name: loyal, rule: "orders_12m >= 4"}
"""
START, END = "2023-01", "2024-12"
AS_OF = date(2024, 12, 31)


def child(base: str, path: str) -> None:
    """In a fresh process: the base's tables copied into a database of this implementation's layout
    (setup, not measured), then fit, backfill month by month and one monthly run; figures as JSON."""
    import resource

    import segmento
    from segmento.config import parse_project

    with segmento.connect(path, parse_project(PROJECT)) as ws:
        copy_sources(ws.con.con, base)
        for name in ("value", "rfm"):
            ws.fit_segmentation(name, AS_OF)
        marks, cpu = [time.perf_counter()], [time.process_time()]  # CPU: every thread of the process, steadier

        def mark(_: object) -> None:
            marks.append(time.perf_counter())
            cpu.append(time.process_time())

        reports = ws.backfill(START, END, on_period=mark)
        months = [b - a for a, b in zip(marks, marks[1:])]
        months_cpu = [b - a for a, b in zip(cpu, cpu[1:])]
        started = time.perf_counter()
        ws.snapshot(END)  # the month taken again: rows replaced, its alerts already stored are left alone
        snapshot = time.perf_counter() - started
        started = time.perf_counter()
        ws.refresh_audiences(AS_OF)
        refresh = time.perf_counter() - started
        members = ws.table("segment_snapshots").select("segmentation", "period", "customer_id", "segment_id")
        alerts = ws.alerts().select("alert_id", "from_segment", "to_segment")
        check = {"members": sorted("|".join(map(str, r.values())) for r in members.to_pyarrow().to_pylist()),
                 "alerts": sorted("|".join(map(str, r.values())) for r in alerts.to_pyarrow().to_pylist())}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"months": months, "months_cpu": months_cpu, "backfill": marks[-1] - marks[0], "snapshot": snapshot, "refresh": refresh,
                      "alerts": sum(r.alerts for r in reports), "peak_mb": usage.ru_maxrss / 1024,
                      "cpu": usage.ru_utime + usage.ru_stime, "check": check}))


def _run(source: Path, base: Path, folder: Path, label: str) -> dict:
    path = folder / f"{label}.duckdb"
    env = {**os.environ, "PYTHONPATH": f"{source}{os.pathsep}{ROOT}"}
    code = f"from benchmarks.bench_backfill import child; child({str(base)!r}, {str(path)!r})"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the {label} implementation failed:\n{done.stderr}")
    path.unlink()
    return json.loads(done.stdout.strip().splitlines()[-1])


def _baseline(folder: Path) -> Path | None:
    """The previous implementation's source tree, or None without git history."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE, "src"], capture_output=True)
    if archive.returncode:
        return None
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder / "src"


def run(scale: float = 0.1) -> None:
    customers = max(1000, int(1_000_000 * scale))
    base = _knowledge_base(customers)
    with section(f"monthly batch: {customers:,} customers, value tiers + RFM, 5 rules, 3 audiences, "
                 f"backfill {START}..{END}; previous = {BASELINE}"), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        old_source = _baseline(folder)
        if old_source is None:
            print(f"  previous implementation {BASELINE} not found in git history: no baseline")
        before = _run(old_source, base, folder, "previous") if old_source else None
        now = _run(ROOT / "src", base, folder, "current")
        rows = [("first month of the backfill", lambda f: f["months"][0]),
                ("last month of the backfill", lambda f: f["months"][-1]),
                (f"backfill of {len(now['months'])} months (+ alerts)", lambda f: f["backfill"]),
                ("one monthly snapshot + its alerts", lambda f: f["snapshot"]),
                ("audience refresh", lambda f: f["refresh"]),
                ("monthly run: snapshot + alerts + refresh", lambda f: f["snapshot"] + f["refresh"])]
        for label, figure in rows:
            if before:
                line(f"{label} (previous)", figure(before))
            line(label, figure(now), baseline=figure(before) if before else None)
        for label, figures in (("previous", before), ("current", now)):
            for kind, months in (("wall", figures and figures["months"]), ("CPU", figures and figures["months_cpu"])):
                if months:  # alerts start once the 12-month windows are complete (month 13): compare like with like
                    print(f"    each month, {label}, {kind} (s): {' '.join(f'{m:.1f}' for m in months)}; last/first "
                          f"{months[-1] / months[0]:.2f}x, months 2-12 {sum(months[1:12]):.1f} s, months 13-24 "
                          f"{sum(months[12:]):.1f} s, mean of the last 6 / of months 13-18 "
                          f"{sum(months[-6:]) / max(sum(months[12:18]), 1e-9):.2f}x")
        print(f"    {now['alerts']:,} alerts; peak RSS {now['peak_mb']:,.0f} MB" + (
            f" (previous {before['peak_mb']:,.0f} MB)" if before else ""))
        print(f"    CPU of the whole child process (setup and fits included): {now['cpu']:,.0f} s" + (
            f" (previous {before['cpu']:,.0f} s)" if before else ""))
        if before:
            # DuckDB's parallel float sums differ in the last bits from run to run: a customer exactly on a
            # quantile cut may fall either side, and priorities and reasons ("+0%" / "-0%") may differ there
            for name in ("members", "alerts"):
                old, new = set(before["check"][name]), set(now["check"][name])
                print(f"    {name}: {len(new):,} rows, {len(old ^ new):,} differ from the previous implementation")
        print(f"    machine load (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
