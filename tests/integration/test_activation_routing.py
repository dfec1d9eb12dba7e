"""Routing: alerts raised by real trajectory rules and audience changes become outbox messages.

Which record goes where, for which journey, and what each payload carries are checked
against a plain-Python reading of the same planted data.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from dynamics_support import plant_snapshots

import segmento
from segmento.activation.routing import CHANGES, enqueue_alerts
from segmento.config import ConfigError, parse_project
from segmento.dynamics.alerts import ALERT_SCHEMA, ALERTS, alerts_table, raise_alerts
from segmento.store.backend import transaction

P1, P2, P3 = date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31)
RANKS = {"vip": 1, "good": 2, "occasional": 3}
CITIES = ["Lyon", "Nantes", "Lille"]
PROJECT = """
dynamics:
  rules:
    - {name: vip_slide, segmentation: value, from: [vip], direction: down, kind: negative, journey: win-back}
    - {name: rising, segmentation: value, from: [occasional], direction: up, kind: positive, journey: nurture}
destinations:
  - {name: crm, type: webhook, url: "http://127.0.0.1:9/hook"}
  - {name: files, type: file, path: drop}
routes:
  - name: winback
    alerts: [vip_slide]
    min_priority: 100
    to: [crm, files]
    profile: [city]
    params: {offer: W10}
  - name: everything
    alerts: "*"
    journey: generic
    to: [crm]
  - name: tennis
    audiences: [tennis]
    changes: [enter]
    journey: tennis-welcome
    to: [crm]
"""


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """300 customers, 'value' snapshots at P1 and P2 (and a future P3), 'rfm' at P1 for all, at P2 for half."""
    rng = random.Random(11)
    ids = [f"C{i:03d}" for i in range(300)]
    rows = []
    for period in (P1, P2, P3):
        for i, customer in enumerate(ids):
            segment = rng.choice(list(RANKS))
            rows.append((period, "value", customer, segment, RANKS[segment], rng.uniform(0, 900)))
            if period == P1 or (period == P2 and i % 2 == 0):
                rows.append((period, "rfm", customer, rng.choice(["champions", "at_risk"]), 1, 0.0))
    snaps = pd.DataFrame(rows, columns=["period", "segmentation", "customer_id", "segment_id", "segment_rank", "value"])
    snaps = snaps.assign(version=1, segment_label=snaps.segment_id.str.upper(),
                         visible_from=pd.to_datetime(snaps.period) + pd.Timedelta(days=1))
    project = parse_project(PROJECT, Path("segmento.yaml"))
    ws = segmento.connect(tmp_path_factory.mktemp("routing") / "shop.duckdb", project)
    ws.ingest("customers", pd.DataFrame({"customer_id": ids, "signup_date": "2023-01-01",
                                         "city": [CITIES[i % 3] for i in range(300)]}))
    plant_snapshots(ws.con, snaps)
    raise_alerts(ws.con, project.dynamics.rules, P1, P2)
    yield ws, snaps
    ws.close()


def segments_at(snaps: pd.DataFrame, customer: str, at: datetime) -> dict:
    """The oracle: per segmentation, the latest snapshot whose period had ended by ``at``."""
    seen = snaps[(snaps.customer_id == customer) & (snaps.visible_from <= at)]
    latest = seen.sort_values("period").groupby("segmentation").tail(1)
    return {r.segmentation: {"segment": r.segment_id, "label": r.segment_label, "as_of": str(r.period)}
            for r in latest.itertuples()}


def messages(ws: segmento.Workspace, source: str) -> pd.DataFrame:
    table = ws.table("activation_outbox")
    return table.filter(table.source == source).to_pandas()


def test_alerts_go_to_the_first_matching_route_with_segments_trajectory_priority_and_journey(planted):
    ws, snaps = planted
    alerts = ws.table(ALERTS).to_pandas()
    assert set(alerts.rule) == {"vip_slide", "rising"}
    queued = ws.enqueue_alerts(P2)
    expected = {}  # (alert_id, destination) -> (route, journey)
    for alert in alerts.itertuples():
        if alert.rule == "vip_slide" and alert.priority >= 100:
            expected[(alert.alert_id, "crm")] = ("winback", "win-back")
            expected[(alert.alert_id, "files")] = ("winback", "win-back")
        expected.setdefault((alert.alert_id, "crm"), ("everything", "generic"))
    out = messages(ws, "alert")
    assert queued == len(expected) == len(out)
    by_alert = alerts.set_index("alert_id")
    for row in out.itertuples():
        payload = json.loads(row.payload)
        alert = by_alert.loc[row.source_id]
        assert (payload["route"], payload["journey"]) == expected[(row.source_id, row.destination)]
        assert payload["idempotency_key"] == row.message_id
        assert payload["priority"] == pytest.approx(alert.priority) and row.priority == pytest.approx(alert.priority)
        assert payload["trajectory"] == {"rule": alert.rule, "kind": alert.kind, "segmentation": "value",
                                         "from": alert.from_segment, "to": alert.to_segment, "period": str(P2)}
        assert payload["segments"] == segments_at(snaps, alert.customer_id, datetime(2024, 3, 1))
        assert row.topic == f"alert-{alert.kind}"
        if payload["route"] == "winback":
            assert payload["profile"] == {"city": CITIES[int(alert.customer_id[1:]) % 3]}
            assert payload["params"] == {"offer": "W10"}
    assert ws.enqueue_alerts(P2) == 0, "queuing again must not add messages"


def test_message_ids_derive_from_the_record_and_destination_only(planted, tmp_path: Path):
    ws, _ = planted
    ws.enqueue_alerts(P2)
    out = messages(ws, "alert")
    for row in out.itertuples():
        digest = hashlib.sha256(f"{row.destination}\x1falert\x1f{row.source_id}".encode()).hexdigest()[:32]
        assert row.message_id == digest
    # a second base holding the same alerts queues the very same keys
    with segmento.connect(tmp_path / "other.duckdb", ws.project) as other:
        alerts_table(other.con)
        other.con.insert(ALERTS, ws.table(ALERTS).to_pyarrow())
        other.enqueue_alerts(P2)
        assert set(messages(other, "alert").message_id) == set(out.message_id)


def test_audience_changes_route_by_audience_and_kind_with_segments_as_of_the_change(planted):
    ws, snaps = planted
    rng = random.Random(4)
    changes = pd.DataFrame([
        {"change_id": f"ch{i}", "customer_id": f"C{rng.randrange(300):03d}", "audience": rng.choice(["tennis", "golf"]),
         "kind": rng.choice(["enter", "exit"]), "at": datetime(2024, 1, 15) + timedelta(hours=rng.randrange(24 * 90)),
         "reason": "rule matched", "why": f"age {30 + i % 10} -> {31 + i % 10}"}
        for i in range(200)
    ])
    ws.con.insert(CHANGES, changes)
    assert ws.enqueue_audience_changes() == ((changes.audience == "tennis") & (changes.kind == "enter")).sum()
    out = messages(ws, "audience_change").set_index("source_id")
    for change in changes[(changes.audience == "tennis") & (changes.kind == "enter")].itertuples():
        payload = json.loads(out.loc[change.change_id, "payload"])
        assert payload["journey"] == "tennis-welcome" and payload["customer_id"] == change.customer_id
        assert payload["audience"] == {"name": "tennis", "change": "enter", "reason": "rule matched", "why": change.why}
        assert payload["segments"] == segments_at(snaps, change.customer_id, change.at.to_pydatetime())
        assert out.loc[change.change_id, "topic"] == "audience-tennis"
    assert ws.enqueue_audience_changes() == 0


def new_alert(customer: str) -> pa.Table:
    return pa.Table.from_pylist([{
        "alert_id": f"vip_slide|{P3}|{customer}", "period": P3, "customer_id": customer, "rule": "vip_slide",
        "segmentation": "value", "from_segment": "vip", "to_segment": "good", "kind": "negative",
        "journey": "win-back", "priority": 500.0, "created_at": datetime(2024, 4, 1),
    }], ALERT_SCHEMA.to_pyarrow())


def test_outbox_is_written_in_the_same_transaction_as_the_alert(planted):
    ws, _ = planted
    outbox = ws.table("activation_outbox")
    before_alerts, before_messages = ws.table(ALERTS).count().execute(), outbox.count().execute()
    with pytest.raises(RuntimeError), transaction(ws.con):
        rows = new_alert("C001")
        assert enqueue_alerts(ws.con, ws.project, alerts=rows) == 2  # crm and files, by the winback route
        ws.con.insert(ALERTS, rows)
        raise RuntimeError("the process dies before the commit")
    assert (ws.table(ALERTS).count().execute(), outbox.count().execute()) == (before_alerts, before_messages)
    with transaction(ws.con):
        rows = new_alert("C002")
        enqueue_alerts(ws.con, ws.project, alerts=rows)
        ws.con.insert(ALERTS, rows)
    assert (ws.table(ALERTS).count().execute(), outbox.count().execute()) == (before_alerts + 1, before_messages + 2)


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ("routes:\n  - name: r\n    alerts: '*'\n    to: [crm, nowhere]\n",
         "segmento.yaml, line 6: unknown destination 'nowhere'; declared: crm"),
        ("routes:\n  - name: r\n    alerts: '*'\n    to: [crm]\n    profile: [email]\n",
         "segmento.yaml, line 7: unknown customer column(s) email; valid: birth_date, gender, city, postcode, country, "
         "signup_date, traits"),
        ("exports:\n  - audience: tennis\n    to: ftp\n",
         "segmento.yaml, line 5: unknown destination 'ftp'; declared: crm"),
    ],
)
def test_cross_references_are_checked_with_file_and_line(routes: str, message: str, tmp_path: Path):
    project = parse_project("destinations:\n  - {name: crm, type: webhook, url: 'http://h/x'}\n" + routes,
                            Path("segmento.yaml"))
    with segmento.connect(tmp_path / "x.duckdb", project) as ws, pytest.raises(ConfigError) as error:
        ws.enqueue_alerts()
    assert str(error.value) == message


def test_a_route_takes_alerts_or_audiences():
    with pytest.raises(ConfigError, match="route 'r': give either alerts or audiences"):
        parse_project("routes:\n  - {name: r, alerts: '*', audiences: [a], to: [x]}\n")
