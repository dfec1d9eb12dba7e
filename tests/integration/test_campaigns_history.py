"""Campaign history as features as of a date, against a plain-Python reading of the targets and events
planted here; and an audience rule using them."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import segmento
from segmento.config import parse_project

LAUNCHES = {"spring": datetime(2024, 3, 10, 9), "letter": datetime(2024, 5, 2, 9), "summer": datetime(2024, 7, 1, 9)}
AS_OF = [date(2024, 4, 30), date(2024, 6, 15), date(2025, 3, 20)]
PROJECT = """
destinations:
  - {name: drops, type: file, path: "DROPS"}
audiences:
  - {name: everyone, rule: "tenure_days >= 0"}
  - {name: discount-responders, rule: "'discount' IN offers_responded_12m AND campaign_response_rate_12m >= 0.5"}
campaigns:
  - {id: spring, start: 2024-03-01, audience: everyone, to: drops, channel: email, offer: discount, control_share: 0.2}
  - {id: letter, start: 2024-05-01, audience: everyone, to: drops, channel: sms, offer: newsletter, control_share: 0.2}
  - {id: summer, start: 2024-06-01, audience: everyone, to: drops, channel: email, offer: discount, control_share: 0.2}
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("history")
    rng = random.Random(4)
    ids = [f"C{i:04d}" for i in range(300)]
    ws = segmento.connect(root / "shop.duckdb", parse_project(PROJECT.replace("DROPS", str(root / "drops")),
                                                              Path("segmento.yaml")))
    ws.ingest("customers", pd.DataFrame({"customer_id": ids, "signup_date": "2023-01-01"}))
    ws.ingest("consents", pd.DataFrame([{"customer_id": c, "channel": ch, "purpose": "marketing", "granted": True,
                                         "recorded_at": datetime(2023, 6, 1)} for c in ids for ch in ("email", "sms")
                                        if rng.random() < 0.85]))
    events = []
    for c in ids:
        for campaign, at in LAUNCHES.items():
            fate = rng.random()
            if fate < 0.35:  # a response after the send
                events.append((c, at + timedelta(days=rng.uniform(0.1, 20)), "campaign_response", campaign, "email"))
            elif fate < 0.4:  # before the send: not a response to it
                events.append((c, at - timedelta(days=2), "campaign_response", campaign, "email"))
        if rng.random() < 0.5:  # a campaign sent by the email platform itself
            sent = datetime(2024, 4, 3, 8)
            events.append((c, sent, "email_sent", "EXT-1", "email"))
            if rng.random() < 0.4:
                events.append((c, sent + timedelta(hours=5), "campaign_response", "EXT-1", "email"))
    frame = pd.DataFrame(events, columns=["customer_id", "occurred_at", "type", "campaign_id", "channel"])
    frame["event_id"] = [f"E{i}" for i in range(len(frame))]
    ws.ingest("events", frame)  # the email platform's history first: the campaign features are there to check rules
    for campaign, at in LAUNCHES.items():
        ws.campaigns.launch(campaign, at=at)
    targets = ws.campaigns.targets().to_pandas()
    yield ws, ids, targets, frame
    ws.close()


def oracle(ids, targets: pd.DataFrame, events: pd.DataFrame, as_of: date) -> pd.DataFrame:
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    since = end - timedelta(days=365)
    received: dict[str, dict[str, tuple]] = {c: {} for c in ids}  # customer -> campaign -> (channel, offer, at)
    offers = {"spring": "discount", "letter": "newsletter", "summer": "discount"}
    for row in targets.itertuples():
        if row.arm == "treated" and since <= row.sent_at < end:
            received[row.customer_id][row.campaign_id] = (row.channel, offers[row.campaign_id], row.sent_at)
    for row in events.itertuples():
        if row.type == "email_sent" and since <= row.occurred_at < end:
            received[row.customer_id].setdefault(row.campaign_id, ("email", None, row.occurred_at))
    rows = []
    for c in ids:
        answers = events[(events.customer_id == c) & (events.type == "campaign_response") & (events.occurred_at < end)]
        got = received[c]
        responded = {k for k, (_, _, at) in got.items() if (answers.campaign_id == k).any()
                     and answers.occurred_at[answers.campaign_id == k].max() >= at}
        promo = [k for k, v in got.items() if v[1] == "discount"]
        other = [k for k in got if k not in promo]
        rate = (lambda ks: sum(k in responded for k in ks) / len(ks) if ks else None)
        rows.append({
            "customer_id": c, "campaigns_received_12m": len(got), "campaigns_responded_12m": len(responded),
            "campaign_response_rate_12m": len(responded) / len(got) if got else None,
            "campaigns_received_email_12m": sum(v[0] == "email" for v in got.values()),
            "campaigns_responded_sms_12m": sum(got[k][0] == "sms" for k in responded),
            "offers_responded_12m": sorted({got[k][1] for k in responded if got[k][1]}),
            "last_campaign_response_days": (as_of - answers.occurred_at.max().date()).days if len(answers) else None,
            "promo_sensitivity_12m": rate(promo) - rate(other) if promo and other else None,
        })
    return pd.DataFrame(rows).set_index("customer_id")


@pytest.mark.parametrize("as_of", AS_OF)
def test_history_features_as_of_a_date_match_the_planted_history(base, as_of: date):
    ws, ids, targets, events = base
    expected = oracle(ids, targets, events, as_of)
    found = ws.features(as_of, list(expected.columns)).to_pandas().set_index("customer_id").loc[expected.index]
    for column in expected.columns:
        if column == "offers_responded_12m":
            got = found[column].map(lambda v: sorted(x for x in (v if v is not None else []) if x is not None))
            assert got.tolist() == expected[column].tolist(), column
        else:
            pd.testing.assert_series_equal(found[column].astype("float64"), expected[column].astype("float64"),
                                           check_names=False, obj=column)
    assert expected.campaigns_received_12m.sum() > 0 and expected.promo_sensitivity_12m.notna().any() or as_of < AS_OF[1]


def test_an_audience_of_discount_responders(base):
    ws, ids, targets, events = base
    expected = oracle(ids, targets, events, AS_OF[1])
    wanted = expected[expected.offers_responded_12m.map(lambda o: "discount" in o)
                      & (expected.campaign_response_rate_12m >= 0.5)]
    members = set(ws.audience_members("discount-responders", AS_OF[1]).to_pyarrow().column(0).to_pylist())
    assert members == set(wanted.index) and members
