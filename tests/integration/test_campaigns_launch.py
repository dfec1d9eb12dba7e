"""Campaign launch on a real DuckDB file and a real HTTP receiver: consent before the draw, a keyed
reproducible control group that is recorded and never sent, every message carrying its campaign."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from activation_support import PERIOD, Receiver, customers, plant_alerts

import segmento
from segmento.config import parse_project
from segmento.errors import SegmentoError

NOW = datetime.now().replace(microsecond=0)
SECRET = "campaign-test-secret"


def project(url: str, share: float = 0.25, extra: str = "") -> segmento.config.Project:
    return parse_project(f"""
destinations:
  - {{name: crm, type: webhook, url: "{url}", channel: email}}
audiences:
  - {{name: everyone, rule: "country = 'FR'"}}
campaigns:
  - id: spring-sale
    name: Spring sale
    offer: discount
    start: {(NOW - timedelta(days=3)).date()}
    audience: everyone
    to: crm
    control_share: {share}
{extra}""", Path("segmento.yaml"))


def plant(ws: segmento.Workspace, count: int, seed: int = 0) -> set[str]:
    """``count`` French customers; about two thirds consent to email now. Returns those who do."""
    rng = random.Random(seed)
    ids = customers(count)
    ws.ingest("customers", pd.DataFrame({"customer_id": ids, "signup_date": "2023-01-01", "country": "FR"}))
    rows, consenting = [], set()
    for c in ids:
        fate = rng.random()
        if fate < 0.9:
            rows.append({"customer_id": c, "channel": "email", "purpose": "marketing", "granted": True,
                         "recorded_at": NOW - timedelta(days=30)})
        if 0.6 < fate < 0.9:  # withdrawn since
            rows.append({"customer_id": c, "channel": "email", "purpose": "marketing", "granted": False,
                         "recorded_at": NOW - timedelta(days=5)})
        if fate <= 0.6:
            consenting.add(c)
    ws.ingest("consents", pd.DataFrame(rows))
    return consenting


def keyed_draw(secret: str, campaign: str, customer: str) -> float:
    """The documented contract: HMAC-SHA256(secret, campaign 0x1f customer), first 8 bytes over 2**64."""
    digest = hmac.new(secret.encode(), f"{campaign}\x1f{customer}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def test_launch_draws_a_keyed_control_group_among_consenting_members_and_never_sends_it(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SEGMENTO_SECRET", SECRET)
    with Receiver() as receiver:
        with segmento.connect(tmp_path / "shop.duckdb", project(receiver.url)) as ws:
            consenting = plant(ws, 600)
            report = ws.campaigns.launch("spring-sale")
            ws.deliver(until="settled")
            targets = ws.campaigns.targets("spring-sale").to_pandas()
            again = ws.campaigns.launch("spring-sale")
            outbox = ws.table("activation_outbox").to_pandas()
            gone = sorted(consenting)[0]
            ws.forget(gone)  # erasure finds her targets by the registry's customer_ref
            assert ws.campaigns.targets("spring-sale").filter(lambda t: t.customer_id == gone).count().execute() == 0
            assert ws.campaigns.targets("spring-sale").count().execute() == len(consenting) - 1
    assert set(targets.customer_id) == consenting  # consent before the draw: only reachable customers are drawn
    expected_control = {c for c in consenting if keyed_draw(SECRET, "spring-sale", c) < 0.25}
    control = set(targets.customer_id[targets.arm == "control"])
    treated = set(targets.customer_id[targets.arm == "treated"])
    assert control == expected_control and treated == consenting - expected_control
    assert 0.18 < len(control) / len(consenting) < 0.32
    assert (report.members, report.unreachable, report.treated, report.control) == (
        600, 600 - len(consenting), len(treated), len(control))
    got = list(receiver.first.values())
    assert {m["customer_id"] for m in got} == treated  # the control group never reached the receiver
    assert all(m["campaign_id"] == "spring-sale" and m["campaign"]["offer"] == "discount" for m in got)
    assert set(outbox.customer_id) == treated and (outbox.status == "delivered").all()
    assert set(targets.message_id[targets.arm == "treated"]) == set(outbox.message_id)
    assert targets.message_id[targets.arm == "control"].isna().all()
    assert (again.drawn_before, again.treated, again.control, again.queued) == (len(consenting), 0, 0, 0)


def test_the_split_is_reproducible_with_the_secret_and_independent_between_campaigns(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SEGMENTO_SECRET", SECRET)
    second = """  - {id: autumn, start: 2020-01-01, audience: everyone, to: crm, control_share: 0.25}"""
    groups = []
    for name in ("a", "b"):
        with segmento.connect(tmp_path / f"{name}.duckdb", project("http://127.0.0.1:9/none", extra=second)) as ws:
            plant(ws, 800)
            ws.campaigns.launch("spring-sale")
            ws.campaigns.launch("autumn")
            frame = ws.campaigns.targets().to_pandas()
        groups.append({cid: set(frame.customer_id[(frame.campaign_id == cid) & (frame.arm == "control")])
                       for cid in ("spring-sale", "autumn")})
    assert groups[0] == groups[1]  # another database, same secret: the same split
    spring, autumn = groups[0]["spring-sale"], groups[0]["autumn"]
    both = len(spring & autumn) / len(spring | autumn | {"x"})
    assert spring != autumn and both < 0.3  # not the same customers held out from every campaign
    monkeypatch.setenv("SEGMENTO_SECRET", "another-secret")
    with segmento.connect(tmp_path / "c.duckdb", project("http://127.0.0.1:9/none")) as ws:
        plant(ws, 800)
        ws.campaigns.launch("spring-sale")
        frame = ws.campaigns.targets().to_pandas()
    assert set(frame.customer_id[frame.arm == "control"]) != spring  # without the secret, no one can predict it


def test_an_alert_journey_carries_its_campaign_and_holds_out_its_control_group_from_every_route(tmp_path: Path):
    journey = f"""  - {{id: winback, start: {PERIOD.replace(day=1)}, alert: vip_slide, journey: win-back, to: crm,
       control_share: 0.3}}
routes:
  - {{name: all, alerts: '*', to: [crm]}}
"""
    with Receiver() as receiver:
        config = project(receiver.url, extra=journey).model_copy()
        config.destinations[0].channel = None
        with segmento.connect(tmp_path / "shop.duckdb", config) as ws:
            alerts = plant_alerts(ws, 200)
            queued = ws.enqueue_alerts()
            ws.deliver(until="settled")
            assert ws.enqueue_alerts() == 0  # the control group stays held out on a second pass
            targets = ws.campaigns.targets("winback").to_pandas()
    control = set(targets.customer_id[targets.arm == "control"])
    assert set(targets.customer_id) == set(alerts.customer_id) and 30 < len(control) < 90
    assert set(targets.source_id) == set(alerts.alert_id)
    got = list(receiver.first.values())
    assert queued == len(got) == 200 - len(control)
    assert not control & {m["customer_id"] for m in got}
    assert all(m["campaign_id"] == "winback" and m["journey"] == "win-back" and m["route"] == "campaign-winback"
               for m in got)


def test_campaign_definitions_are_checked_and_launch_dates_enforced(tmp_path: Path):
    with pytest.raises(SegmentoError, match=r"line 7: campaigns.0: .*exactly one of audience, segment or alert"):
        project("http://x", extra="    alert: vip_slide\n")
    with pytest.raises(SegmentoError, match="unknown destination 'nowhere'"):
        with segmento.connect(tmp_path / "a.duckdb", parse_project(
                "campaigns:\n  - {id: c, start: 2024-01-01, audience: a, to: nowhere}\n")) as ws:
            ws.enqueue_alerts()
    with segmento.connect(tmp_path / "b.duckdb", project("http://127.0.0.1:9/none")) as ws:
        with pytest.raises(SegmentoError, match="runs from .*launch it at a date within"):
            ws.campaigns.launch("spring-sale", at=NOW - timedelta(days=30))
        with pytest.raises(SegmentoError, match="no campaign 'nope'; known: spring-sale"):
            ws.campaigns.launch("nope")
        created = ws.campaigns.create({"id": "stored", "start": "2024-05-01", "audience": "everyone", "to": "crm",
                                       "offer": "free_shipping"})
        assert created.control_share == 0.1 and [c.id for c in ws.campaigns.list()] == ["stored", "spring-sale"]
        with pytest.raises(SegmentoError, match="exists already"):
            ws.campaigns.create(created)
        with pytest.raises(SegmentoError, match="control_share"):
            ws.campaigns.create({"id": "x", "start": "2024-05-01", "audience": "a", "to": "crm", "control_share": 1.5})
