"""Delivery to a real HTTP receiver on loopback that fails, stalls and throttles: nothing lost, one key each."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from activation_support import Receiver, plant_alerts, webhook_project

import segmento
from segmento.activation.deliver import Pacer, backoff
from segmento.activation.destinations import DeliveryError
from segmento.activation.outbox import Message
from segmento.activation.settings import PluginDestination, RetryPolicy
from segmento.config import parse_project

FAST_RETRY = {"max_attempts": 6, "backoff": 0.01, "max_backoff": 0.05}


def outbox_rows(ws: segmento.Workspace) -> pd.DataFrame:
    return ws.table("activation_outbox").to_pandas()


def test_flaky_receiver_gets_every_message_once_by_key_or_it_is_dead_lettered(tmp_path: Path):
    with Receiver(secret="s3cret", seed=3, fail=0.25, throttle=0.1, slow=0.08, lose=0.07, slow_seconds=0.5) as receiver:
        project = webhook_project(receiver.url, batch_size=7, timeout=0.25, retry=FAST_RETRY)
        with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
            plant_alerts(ws, 120)
            assert ws.enqueue_alerts() == 120
            report = ws.deliver(until="settled")
            rows = outbox_rows(ws)
    assert set(rows.status) <= {"delivered", "failed"}
    delivered = set(rows.message_id[rows.status == "delivered"])
    assert delivered <= set(receiver.accepted), "a message marked delivered never reached the receiver"
    assert set(receiver.accepted) <= set(rows.message_id), "the receiver got a key the outbox never had"
    assert receiver.changed_payloads == 0, "a re-sent key carried a different message"
    assert receiver.bad_signatures == 0
    dead = rows[rows.status == "failed"]
    assert (dead.attempts == FAST_RETRY["max_attempts"]).all() and dead.last_error.str.match(r"HTTP \d{3}|no answer").all()
    assert report.tallies["crm"].delivered == len(delivered) and report.tallies["crm"].failed == len(dead)
    # the receiver really misbehaved, so retries and re-sends happened
    assert receiver.fates["fail"] and receiver.fates["throttle"] and receiver.fates["slow"] and receiver.fates["lose"]
    assert max(receiver.accepted.values()) > 1


def test_dead_letter_after_max_attempts_with_last_error_then_retry_failed(tmp_path: Path):
    with Receiver(fail=1.0) as receiver:
        project = webhook_project(receiver.url, secret=None, batch_size=50, retry={**FAST_RETRY, "max_attempts": 3})
        with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
            plant_alerts(ws, 20)
            ws.enqueue_alerts()
            report = ws.deliver(until="settled")
            assert report.tallies["crm"].failed == 20 and report.tallies["crm"].retried == 40
            dead = ws.dead_letters("crm").to_pandas()
            assert len(dead) == 20 and (dead.attempts == 3).all() and (dead.last_error == "HTTP 500: ").all()
            status = ws.delivery_status().set_index("destination").loc["crm"]
            assert (status.pending, status.delivered, status.failed, status.last_error) == (0, 0, 20, "HTTP 500: ")
            shown = delivery_status_cli(tmp_path / "shop.duckdb")  # the file is open here: read through Ibis
            assert re.search(r"│ crm +│ +0 │ +0 │ +20 │ +0 │ +│ HTTP 500: +│", shown), shown
            assert "latest 10 dead letters" in shown and len(re.findall(r"│ \S+ +│ crm +│ C\S* +│ 3 +│ HTTP 500:", shown)) == 10
            receiver.odds["fail"] = 0.0
            assert ws.retry_failed("crm") == 20
            assert ws.deliver().tallies["crm"].delivered == 20
            assert ws.delivery_status().set_index("destination").loc["crm", "delivered"] == 20
    assert receiver.requests == 3 + 1
    shown = delivery_status_cli(tmp_path / "shop.duckdb")  # closed: the file read directly, without Ibis
    assert re.search(r"│ crm +│ +0 │ +20 │ +0 │ +0 │ +│ +│", shown) and "dead letters" not in shown, shown


def delivery_status_cli(db: Path) -> str:
    from typer.testing import CliRunner

    from segmento.cli import app

    result = CliRunner().invoke(app, ["delivery-status", "--db", str(db)], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    return result.output


def test_retry_after_of_a_429_is_honoured(tmp_path: Path):
    with Receiver(throttle=1.0, retry_after="120") as receiver:
        project = webhook_project(receiver.url, retry=FAST_RETRY)
        with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
            plant_alerts(ws, 3)
            ws.enqueue_alerts()
            before = datetime.now()
            assert ws.deliver().tallies["crm"].retried == 3
            rows = outbox_rows(ws)
    assert (rows.status == "pending").all() and (rows.last_error == "HTTP 429: ").all()
    assert (rows.next_attempt_at >= before + timedelta(seconds=119)).all()


def test_signatures_verify_and_a_wrong_secret_is_refused(tmp_path: Path):
    with Receiver(secret="the-real-one") as receiver:
        project = webhook_project(receiver.url, secret="not-it", retry={**FAST_RETRY, "max_attempts": 1})
        with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
            plant_alerts(ws, 4)
            ws.enqueue_alerts()
            assert ws.deliver().tallies["crm"].failed == 4
    assert receiver.bad_signatures == 1 and not receiver.accepted


def test_secret_from_the_environment_and_custom_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CRM_SECRET", "from-env")
    with Receiver(secret="from-env") as receiver:
        project = webhook_project(receiver.url, secret=None, secret_env="CRM_SECRET", headers={"X-Tenant": "brand"})
        with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
            plant_alerts(ws, 2)
            ws.enqueue_alerts()
            assert ws.deliver().tallies["crm"].delivered == 2
    assert receiver.bad_signatures == 0 and len(receiver.accepted) == 2


class StepClock:
    """A clock that moves only when slept on: the schedule is exact and the test takes no time."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_spaces_requests_to_the_rate_limit():
    clock = StepClock()
    pacer = Pacer(rate=50.0, clock=clock, sleep=clock.sleep)
    assert [pacer.wait() for _ in range(6)] == pytest.approx([100.0, 100.02, 100.04, 100.06, 100.08, 100.1])
    assert clock.slept == pytest.approx([0.02] * 5)
    clock.now += 5.0  # idle for a while: the next call goes at once, the one after waits again
    assert [pacer.wait(), pacer.wait()] == pytest.approx([105.1, 105.12])
    assert len(clock.slept) == 6
    unlimited = Pacer(rate=None, clock=clock, sleep=clock.sleep)
    assert [unlimited.wait() for _ in range(3)] == [clock.now] * 3 and len(clock.slept) == 6


class Collector:
    """A platform connector plug-in, as a user would write one: it keeps what it is sent."""

    received: list[dict] = []
    refuse = False

    def __init__(self, config: PluginDestination) -> None:
        self.tag = config.options["tag"]

    def send(self, batch: Sequence[Message]) -> None:
        if Collector.refuse:
            raise DeliveryError("platform says: audience is archived", permanent=True)
        Collector.received += [{**json.loads(m.payload), "tag": self.tag} for m in batch]

    def close(self) -> None:
        pass


def plugin_project(plugin: str) -> segmento.config.Project:
    return parse_project(
        f"destinations:\n  - name: platform\n    type: plugin\n    plugin: {plugin}\n    options: {{tag: t1}}\n"
        "routes:\n  - name: all\n    alerts: '*'\n    to: [platform]\n"
    )


def test_plugin_receives_batches_and_a_permanent_refusal_dead_letters_at_once(tmp_path: Path):
    Collector.received, Collector.refuse = [], False
    with segmento.connect(tmp_path / "shop.duckdb", plugin_project(f"{__name__}:Collector")) as ws:
        plant_alerts(ws, 5)
        ws.enqueue_alerts()
        assert ws.deliver().tallies["platform"].delivered == 5
        assert {m["tag"] for m in Collector.received} == {"t1"} and len(Collector.received) == 5
        plant_more = ws.table("alerts").to_pandas().assign(alert_id=lambda f: f.alert_id + "-2")
        ws.con.insert("alerts", plant_more)
        ws.enqueue_alerts()
        Collector.refuse = True
        report = ws.deliver()
    assert report.tallies["platform"].failed == 5 and report.tallies["platform"].retried == 0


def test_a_plugin_that_cannot_load_keeps_its_messages_pending(tmp_path: Path):
    with segmento.connect(tmp_path / "shop.duckdb", plugin_project("no_such_module:Thing")) as ws:
        plant_alerts(ws, 2)
        ws.enqueue_alerts()
        report = ws.deliver()
        assert "cannot load plug-in" in report.tallies["platform"].unavailable
        assert ws.delivery_status().set_index("destination").loc["platform", "pending"] == 2


def test_backoff_doubles_within_its_cap_and_jitter_takes_up_to_half():
    policy = RetryPolicy(backoff=2.0, max_backoff=20.0)
    assert [backoff(policy, n, 0.0) for n in (1, 2, 3, 4, 5, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert [backoff(policy, n, 0.999999) for n in (1, 4, 6)] == pytest.approx([2.0, 16.0, 20.0])
