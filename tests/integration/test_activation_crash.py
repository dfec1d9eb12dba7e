"""SIGKILL the deliverer process in the middle of a batch, restart it: nothing lost, re-sends keep their key."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from activation_support import Receiver, plant_alerts

import segmento
from segmento.config import parse_project

MESSAGES = 150


def write_config(path: Path, url: str) -> Path:
    config = path / "segmento.yaml"
    config.write_text(
        "destinations:\n"
        "  - name: crm\n    type: webhook\n"
        f"    url: {url}\n    secret_env: CRASH_SECRET\n    batch_size: 10\n    timeout: 2\n"
        "    retry: {max_attempts: 12, backoff: 0.02, max_backoff: 0.1}\n"
        "routes:\n  - name: all\n    alerts: '*'\n    to: [crm]\n"
    )
    return config


def start_deliverer(db: Path, config: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "segmento.cli", "deliver", "--db", str(db), "--config", str(config),
         "--until", "settled", "--lease", "1", "--poll", "0.1"],
        env={**os.environ, "CRASH_SECRET": "k1ll"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_sigkill_mid_batch_loses_nothing_and_resends_with_the_same_key(tmp_path: Path):
    db = tmp_path / "shop.duckdb"
    with Receiver(secret="k1ll", seed=5, fail=0.1, gate_at=3) as receiver:
        config = write_config(tmp_path, receiver.url)
        with segmento.connect(db, parse_project(config.read_text(), config)) as ws:
            plant_alerts(ws, MESSAGES)
            assert ws.enqueue_alerts() == MESSAGES
        # the test holds no connection from here on: the deliverer is the only process using the file

        first = start_deliverer(db, config)
        assert receiver.gated.wait(60), first.communicate()[0]
        first.send_signal(signal.SIGKILL)  # the receiver has kept the batch; the deliverer never hears back
        first.wait()
        receiver.release.set()
        received_at_first_kill = sum(receiver.accepted.values())

        second = start_deliverer(db, config)
        stop_after = received_at_first_kill + random.Random(1).randint(10, 40)
        wait_for(lambda: sum(receiver.accepted.values()) >= stop_after or second.poll() is not None)
        second.send_signal(signal.SIGKILL)  # wherever it is: sending, claiming or recording
        second.wait()

        third = start_deliverer(db, config)
        output = third.communicate(timeout=90)[0]
        assert third.returncode == 0, output

    assert first.returncode == second.returncode == -signal.SIGKILL
    with segmento.connect(db) as ws:
        rows = ws.table("activation_outbox").to_pandas()
    assert len(rows) == MESSAGES and rows.message_id.is_unique
    assert set(rows.status) <= {"delivered", "failed"}, "a message was left pending or lost"
    delivered = set(rows.message_id[rows.status == "delivered"])
    assert delivered <= set(receiver.accepted)
    assert set(receiver.accepted) == set(rows.message_id)
    assert receiver.changed_payloads == 0 and receiver.bad_signatures == 0
    resent = [key for key, times in receiver.accepted.items() if times > 1]
    assert resent, "the batch kept at the first kill must come again, under the same keys"
