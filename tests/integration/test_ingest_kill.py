"""All or nothing under kill -9: a real ingestion in a subprocess, killed at random moments.

After each kill the base must be exactly as before the run or exactly as after an
uninterrupted run (row counts and content of every table, quarantine and run log
included), and running the ingestion again must give the uninterrupted result.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pytest

import segmento

ROWS = 150_000
CUSTOMERS = 5_000
RUN = "import sys, segmento\nwith segmento.connect(sys.argv[1]) as ws:\n    ws.ingest('orders', sys.argv[2])\n"
SRC = str(Path(segmento.__file__).parents[1])
RUN_LOG_COLUMNS = ("ingestion_id", "started_at")  # differ from run to run by nature


def write_orders(path: Path) -> None:
    """A large orders file: mostly good rows, some unknown customers, bad amounts and ragged lines."""
    rng = np.random.default_rng(7)
    customers = rng.integers(0, CUSTOMERS + 200, ROWS)  # ids past CUSTOMERS are unknown
    amounts = np.round(rng.gamma(2.0, 30.0, ROWS), 2).astype(str)
    amounts[rng.random(ROWS) < 0.01] = "abc"
    days = rng.integers(1, 28, ROWS)
    with path.open("w") as handle:
        handle.write("order_id,customer_id,ordered_at,amount,channel\n")
        for i in range(ROWS):
            if i % 5000 == 4999:
                handle.write(f"X{i},C1\n")
            else:
                handle.write(f"O{i},C{customers[i]},2024-03-{days[i]:02d} 10:00:00,{amounts[i]},web\n")


def fingerprint(db: Path) -> dict[str, tuple[int, int]]:
    """(rows, order-free hash of every row's values) for every table of the base."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()]
        found = {}
        for table in sorted(tables):
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table]).fetchall() if c not in RUN_LOG_COLUMNS]
            hashed = ", ".join(f'"{c}"' for c in columns)
            found[table] = tuple(con.execute(
                f'SELECT count(*), coalesce(sum(hash({hashed})::HUGEINT), 0) FROM "{table}"').fetchone())
        return found


def run(db: Path, orders: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen([sys.executable, "-c", RUN, str(db), str(orders)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    directory = tmp_path_factory.mktemp("kill")
    base = directory / "base.duckdb"
    with segmento.connect(base) as ws:
        ws.ingest("customers", _customers())
        ws.ingest("orders", _customers_orders())  # the base holds orders and quarantine before the run
    orders = directory / "orders.csv"
    write_orders(orders)
    after = directory / "after.duckdb"
    shutil.copy(base, after)
    started = time.monotonic()
    process = run(after, orders)
    assert process.wait(timeout=900) == 0, process.stderr.read().decode()
    return directory, base, orders, fingerprint(base), fingerprint(after), time.monotonic() - started


def _customers():
    import pyarrow as pa

    return pa.table({"customer_id": [f"C{i}" for i in range(CUSTOMERS)], "signup_date": ["2023-01-01"] * CUSTOMERS})


def _customers_orders():
    import pyarrow as pa

    return pa.table({"order_id": ["B1", "B2"], "customer_id": ["C1", "NOBODY"], "ordered_at": ["2024-01-01"] * 2,
                     "amount": ["5", "6"], "channel": ["web", "web"]})


def test_the_uninterrupted_run_changes_the_base(setup):
    _, _, _, before, after, _ = setup
    assert after["orders"][0] > before["orders"][0] + 100_000
    assert after["quarantine"][0] > before["quarantine"][0] + 1_000
    assert after["ingestions"][0] == before["ingestions"][0] + 1


def wait_for_writes(db: Path, process: subprocess.Popen, delay: float) -> float:
    """Sleep until the run commits to the base (its write-ahead log appears), then ``delay`` more."""
    started = time.monotonic()
    wal = db.with_name(db.name + ".wal")
    while process.poll() is None and not wal.exists():
        time.sleep(0.002)
    time.sleep(delay)
    return time.monotonic() - started


@pytest.mark.parametrize("attempt", range(4))
def test_kill_9_leaves_the_base_as_before_or_as_after_and_a_rerun_completes(setup, attempt):
    """Two kills at random moments of the run, two just after it starts committing."""
    directory, base, orders, before, after, seconds = setup
    work = directory / f"work{attempt}.duckdb"
    shutil.copy(base, work)
    chance = random.Random(attempt)
    process = run(work, orders)
    if attempt < 2:
        moment = chance.uniform(0.05, 1.0) * seconds
        time.sleep(moment)
    else:
        moment = wait_for_writes(work, process, chance.uniform(0.0, 0.5))
    process.send_signal(signal.SIGKILL)
    process.wait()
    found = fingerprint(work)
    assert found in (before, after), f"killed after {moment:.2f}s of {seconds:.2f}s: partial base"
    again = run(work, orders)
    assert again.wait(timeout=900) == 0, again.stderr.read().decode()
    rerun = fingerprint(work)
    logged = rerun.pop("ingestions")[0]
    assert rerun == {name: value for name, value in after.items() if name != "ingestions"}
    assert logged == after["ingestions"][0] + (found == after)  # a run that had completed is logged twice
