"""The CLI's start: CPU seconds of `segmento --help` and of each listing verb, each in a fresh process
(best of 5), on a copy of the features benchmark's base (scale 1.0 = 1M customers).

Listing verbs read the DuckDB file itself (store/quick.py). The baseline, in the same run, is what
each of them paid before: the base opened through the workspace (Ibis, pandas, Arrow, the project's
settings), measured as the same fresh process opening it and doing nothing else. Python starting
alone is the floor.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_features import _knowledge_base
from benchmarks.common import section

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo.yaml"
RUNS = 5
GOAL = 0.5  # CPU seconds: `segmento --help` and the listing verbs
VERBS = (["status"], ["quarantine", "--table", "orders"], ["keys", "list"], ["gdpr", "status"], ["delivery-status"],
         ["alerts", "--period", "2024-06", "--kind", "negative"], ["models", "value"])


def run(scale: float = 0.1) -> None:
    customers = max(1000, int(1_000_000 * scale))
    with section(f"CLI start: CPU seconds of a fresh process, best of {RUNS}, {customers:,} customers, DuckDB file"):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "shop.duckdb"
            shutil.copy(_knowledge_base(customers), db)
            subprocess.run([sys.executable, "-c", "import segmento, sys; segmento.connect(sys.argv[1]).pseudonyms", str(db)],
                           check=True)  # at this layout, its GDPR key recorded (setup)
            floor = _cpu(["-c", "pass"])
            workspace = _cpu(["-c", "import segmento, sys; segmento.connect(sys.argv[1]).close()", str(db)])
            print(f"  {'Python alone (the floor)':<52} {floor:6.2f} s CPU")
            print(f"  {'the base opened through the workspace (baseline)':<52} {workspace:6.2f} s CPU")
            rows = [("segmento --help", _cpu(["-m", "segmento.cli", "--help"]))]
            for verb in VERBS:
                rows.append((f"segmento {' '.join(verb)}", _cpu(["-m", "segmento.cli", *verb, "--db", str(db),
                                                                 "--config", str(DEMO)])))
            for label, seconds in rows:
                print(f"  {label:<52} {seconds:6.2f} s CPU  {'under' if seconds < GOAL else 'OVER'} {GOAL} s;"
                      f"  ratio {seconds / workspace:4.2f}x the baseline")


def _cpu(args: list[str]) -> float:
    """The least user + system CPU seconds of ``python args`` over the runs (a verb's error exit included:
    `models value` on a base without a fitted model answers that there is none)."""
    best = float("inf")
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best
