"""Consent at send time against a plain-Python reading of the ledger: sent = consenting, the rest counted."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from activation_support import Receiver, customers, plant_alerts

import segmento
from segmento.config import parse_project

NOW = datetime.now().replace(microsecond=0)


def random_ledger(ids: list[str], seed: int) -> pd.DataFrame:
    """Grants and withdrawals per channel and purpose; some recorded after the send (not yet in force)."""
    rng = random.Random(seed)
    rows, seen = [], set()
    for customer in ids:
        for _ in range(rng.randrange(6)):
            channel, purpose = rng.choice(["email", "sms"]), rng.choice(["marketing", "service"])
            days = rng.choice([-rng.randrange(2, 400), rng.randrange(2, 30)])  # never within a day of now
            at = NOW + timedelta(days=days, seconds=rng.randrange(86_400))
            if (customer, channel, purpose, at) not in seen:
                seen.add((customer, channel, purpose, at))
                rows.append({"customer_id": customer, "channel": channel, "purpose": purpose,
                             "granted": rng.random() < 0.6, "recorded_at": at})
    return pd.DataFrame(rows)


def oracle(ledger: pd.DataFrame, channel: str, purpose: str, at: datetime) -> set[str]:
    """Who consents at ``at``: the latest row at or before it, per customer, is a grant."""
    latest: dict[str, tuple[datetime, bool]] = {}
    for row in ledger.itertuples():
        if row.channel == channel and row.purpose == purpose and row.recorded_at <= at:
            if row.customer_id not in latest or row.recorded_at > latest[row.customer_id][0]:
                latest[row.customer_id] = (row.recorded_at, row.granted)
    return {customer for customer, (_, granted) in latest.items() if granted}


@pytest.mark.parametrize("seed", [1, 2])
def test_a_channel_bound_webhook_only_reaches_consenting_customers(tmp_path: Path, seed: int):
    ids = customers(150)
    ledger = random_ledger(ids, seed)
    with Receiver() as receiver:
        project = parse_project(
            f"destinations:\n  - {{name: crm, type: webhook, url: '{receiver.url}', channel: email, batch_size: 40}}\n"
            "routes:\n  - {name: all, alerts: '*', to: [crm]}\n"
        )
        with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
            plant_alerts(ws, len(ids))
            ws.ingest("consents", ledger)
            ws.enqueue_alerts()
            report = ws.deliver()
            rows = ws.table("activation_outbox").to_pandas()
    allowed = oracle(ledger, "email", "marketing", NOW)
    assert 0 < len(allowed) < len(ids)
    received = {m["customer_id"] for m in receiver.first.values()}
    assert received == allowed
    assert report.tallies["crm"].filtered == len(ids) - len(allowed) == (rows.status == "filtered").sum()
    filtered = rows[rows.status == "filtered"]
    assert set(filtered.customer_id) == set(ids) - allowed
    assert filtered.last_error.str.startswith("no email consent for marketing at ").all()


def test_an_audience_exported_to_a_channel_holds_only_consenting_customers(tmp_path: Path):
    ids = customers(150)
    ledger = random_ledger(ids, 3)
    project = parse_project(
        f"destinations:\n  - {{name: sms_files, type: file, path: '{tmp_path / 'drop'}', channel: sms, purpose: service}}\n"
    )
    with segmento.connect(tmp_path / "shop.duckdb", project) as ws:
        ws.ingest("customers", pd.DataFrame({"customer_id": ids, "signup_date": "2023-01-01"}))
        ws.ingest("consents", ledger)
        members = ws.table("customers").select("customer_id")
        report = ws.export_audience("everyone", "sms_files", members)
    exported = set(pd.read_csv(report.location).customer_id)
    allowed = oracle(ledger, "sms", "service", NOW)
    assert 0 < len(allowed) < len(ids)
    assert exported == allowed
    assert (report.members, report.sent, report.filtered) == (150, len(allowed), 150 - len(allowed))
    manifest = json.loads(Path(report.location.replace(".csv", ".manifest.json")).read_text())
    assert (manifest["members"], manifest["without_consent"], manifest["rows"]) == (150, 150 - len(allowed), len(allowed))
