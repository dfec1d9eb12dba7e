"""Audience exports (file and webhook, on demand and on schedule) and the file drop of alerts."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from activation_support import Receiver, customers, plant_alerts

import segmento
from segmento.activation.destinations import erase_from_drops
from segmento.activation.exports import members_from_changes, run_due_exports
from segmento.activation.routing import CHANGES
from segmento.config import parse_project

CITIES = ["Lyon", "Nantes"]


def random_changes(ids: list[str], seed: int) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = [
        {"change_id": f"ch{i:04d}", "customer_id": rng.choice(ids), "audience": rng.choice(["tennis", "golf"]),
         "kind": rng.choice(["enter", "exit"]), "at": datetime(2024, 1, 1) + timedelta(minutes=rng.randrange(90 * 1440)),
         "reason": "rule"}
        for i in range(400)
    ]
    frame = pd.DataFrame(rows).sort_values(["at", "change_id"], ignore_index=True)
    return frame.assign(seq=range(1, len(frame) + 1))  # the order the log was written in


def replay(changes: pd.DataFrame, audience: str, at: datetime) -> set[str]:
    """The oracle: walk the log in time order, entering and leaving."""
    members: set[str] = set()
    for row in changes[changes.audience == audience].sort_values("seq").itertuples():
        if row.at <= at:
            (members.add if row.kind == "enter" else members.discard)(row.customer_id)
    return members


@pytest.fixture
def shop(tmp_path: Path):
    ids = customers(60)
    changes = random_changes(ids, 9)
    with Receiver() as receiver:
        project = parse_project(
            f"destinations:\n"
            f"  - {{name: files, type: file, path: '{tmp_path / 'drop'}'}}\n"
            f"  - {{name: pq, type: file, path: '{tmp_path / 'drop'}', format: parquet}}\n"
            f"  - {{name: crm, type: webhook, url: '{receiver.url}', batch_size: 25}}\n"
            "exports:\n  - {audience: tennis, to: files, every: daily, profile: [city]}\n"
        )
        with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
            ws.ingest("customers", pd.DataFrame({"customer_id": ids, "signup_date": "2023-01-01",
                                                 "city": [CITIES[i % 2] for i in range(60)]}))
            ws.con.insert(CHANGES, changes)
            yield ws, changes, tmp_path, receiver


def test_membership_replayed_from_the_change_log(shop):
    ws, changes, _, _ = shop
    for at in (datetime(2024, 1, 20), datetime(2024, 3, 1), datetime(2024, 6, 1)):
        replayed = set(members_from_changes(ws.con, "tennis", at).customer_id.to_pyarrow().to_pylist())
        assert replayed == replay(changes, "tennis", at)


@pytest.mark.parametrize("destination", ["files", "pq"])
def test_file_export_writes_members_and_a_manifest_that_checks_out(shop, destination: str):
    ws, changes, _, _ = shop
    report = ws.export_audience("tennis", destination)
    path = Path(report.location)
    frame = pd.read_csv(path) if destination == "files" else pq.read_table(path).to_pandas()
    expected = replay(changes, "tennis", datetime.now())
    assert set(frame.customer_id) == expected and len(frame) == len(expected) == report.sent
    manifest = json.loads(path.with_name(path.name.replace(path.suffix, ".manifest.json")).read_text())
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (manifest["rows"], manifest["audience"], manifest["format"]) == (len(expected), "tennis", path.suffix[1:])
    if destination == "files":  # the declared export asks for the city
        assert list(frame.columns) == ["customer_id", "city"]
        assert (frame.city == [CITIES[int(c[1:]) % 2] for c in frame.customer_id]).all()


def test_webhook_export_goes_through_the_outbox_one_message_per_member(shop):
    ws, changes, _, receiver = shop
    report = ws.export_audience("tennis", "crm")
    assert report.location == "outbox"
    assert ws.deliver().tallies["crm"].delivered == report.sent
    expected = replay(changes, "tennis", datetime.now())
    got = list(receiver.first.values())
    assert {m["customer_id"] for m in got} == expected and len(got) == len(expected)
    assert {(m["type"], m["audience"], m["export_id"]) for m in got} == {("export", "tennis", report.export_id)}


def test_scheduled_export_runs_once_per_window(shop):
    ws, _, tmp_path, _ = shop
    monday = datetime(2026, 11, 23, 9, 30)
    assert len(run_due_exports(ws.con, ws.project, monday)) == 1
    assert run_due_exports(ws.con, ws.project, monday + timedelta(hours=10)) == []
    assert len(run_due_exports(ws.con, ws.project, monday + timedelta(days=1))) == 1
    log = ws.table("activation_exports").to_pandas()
    assert list(log.window_start) == [pd.Timestamp("2026-11-23"), pd.Timestamp("2026-11-24")]
    assert len(list((tmp_path / "drop" / "export-tennis").glob("*.manifest.json"))) == 2


def test_file_drop_of_alerts_one_folder_per_kind_and_a_resend_rewrites_the_same_file(tmp_path: Path):
    project = parse_project(
        f"destinations:\n  - {{name: files, type: file, path: '{tmp_path / 'drop'}', batch_size: 1000}}\n"
        "routes:\n  - {name: all, alerts: '*', to: [files]}\n"
    )
    with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
        alerts = plant_alerts(ws, 30)
        ws.con.raw_sql("UPDATE alerts SET kind = 'positive' WHERE customer_id < 'C00010'")
        ws.enqueue_alerts()
        assert ws.deliver().tallies["files"].delivered == 30
        ws.con.raw_sql("UPDATE activation_outbox SET status = 'pending'")  # as if the outcome was never recorded
        ws.deliver()
    folders = {p.name: p for p in (tmp_path / "drop").iterdir()}
    assert set(folders) == {"alert-negative", "alert-positive"}
    for kind, count in (("positive", 10), ("negative", 20)):
        files = list(folders[f"alert-{kind}"].glob("*.csv"))
        assert len(files) == 1, "a re-sent batch must overwrite its file, not add one"
        frame = pd.read_csv(files[0])
        assert len(frame) == count and frame["trajectory.kind"].eq(kind).all()
        assert frame.idempotency_key.is_unique
    assert set(pd.concat(pd.read_csv(f) for f in (tmp_path / "drop").rglob("*.csv")).customer_id) == set(alerts.customer_id)


def test_erasure_rewrites_dropped_files_without_the_customer(shop):
    ws, changes, tmp_path, _ = shop
    members = sorted(replay(changes, "tennis", datetime.now()))
    target = members[0]
    csv_report = ws.export_audience("tennis", "files")
    parquet_report = ws.export_audience("tennis", "pq")
    assert erase_from_drops(ws.project, target) == 2
    for report, read in ((csv_report, lambda p: pd.read_csv(p, dtype=str)), (parquet_report, pd.read_parquet)):
        path = Path(report.location)
        frame = read(path)
        assert sorted(frame.customer_id) == members[1:]
        manifest = json.loads(path.with_name(path.name.replace(path.suffix, ".manifest.json")).read_text())
        assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and manifest["rows"] == len(members) - 1
        assert manifest["audience"] == "tennis"
    assert erase_from_drops(ws.project, target) == 0
