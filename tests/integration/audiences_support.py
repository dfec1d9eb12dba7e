"""A small shop for the audience tests, and a pure-Python oracle of what each audience means.

The oracle is written from the rule language's definition and the features' documented
meaning (whole calendar-day windows ending on D, age in whole years at D, consent = the
latest marketing ledger row), row by row over plain dicts: it shares no code with
segmento.audiences or segmento.features.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from dateutil.relativedelta import relativedelta

import segmento
from segmento.config import parse_project

YAML = """\
audiences:
  - name: men_30_40_tennis
    rule: gender = 'M' AND age BETWEEN 30 AND 40 AND 'tennis' IN interests_90d
    description: Men aged 30 to 40 interested in tennis
    owner: crm
    tags: [sport]
  - name: hiking_43
    rule: >-
      searched(category = 'hiking shoes', size = 43, within = '30d')
      OR contacted(category = 'hiking shoes', size = 43, within = '30d')
  - name: inactive_3m
    rule: orders_lifetime > 0 AND recency_days > 90
  - name: vip
    rule: spend_12m >= 600
  - name: email_vips
    rule: in_audience('vip') AND consent_email AND NOT (email_open_rate_12m < 0.5)
  - name: curious
    rule: viewed(within = '7d') >= 2 OR event(type = 'page_view', channel IN ('app')) >= 3
"""
# the same audiences with every event count in a window and no event feature over 12 months: the
# real-time copy then keeps only the events of the last 90 days (interests_90d, chatbot_90d)
WINDOWED_YAML = YAML.replace("channel IN ('app'))", "channel IN ('app'), within = '60d')").replace(
    "NOT (email_open_rate_12m < 0.5)", "chatbot_90d = 0") + "  - name: tennis_90d\n    rule: \"'tennis' IN interests_90d\"\n"
NAMES = ["men_30_40_tennis", "hiking_43", "inactive_3m", "vip", "email_vips", "curious"]
START, END = date(2023, 1, 1), date(2024, 9, 30)
CATEGORIES = ["tennis", "hiking shoes", "golf", None]
EVENT_TYPES = ["product_view", "page_view", "search", "chatbot", "email_sent", "email_open"]


def _stamp(rng: random.Random, start: date = START, end: date = END) -> datetime:
    days = (end - start).days
    return datetime.combine(start, time()) + timedelta(days=rng.randrange(days), seconds=rng.randrange(86_400))


def shop(seed: int = 7, customers: int = 40) -> dict[str, list[dict]]:
    """Customers with birthdays, orders, events and consents spread over 2023-2024."""
    rng = random.Random(seed)
    data: dict[str, list[dict]] = {"customers": [], "orders": [], "events": [], "consents": []}
    for i in range(customers):
        cid = f"C{i:03d}"
        birth = None if i % 9 == 0 else date(rng.randrange(1980, 1998), rng.randrange(1, 13), rng.randrange(1, 29))
        if i == 1:
            birth = date(1984, 2, 29)
        signup = START if i % 5 else date(2024, 3, 1) + timedelta(days=i)
        data["customers"].append({"customer_id": cid, "birth_date": birth, "gender": rng.choice("MMFX"),
                                  "city": "Lyon", "country": "FR", "signup_date": signup})  # fmt: skip
        for k in range(rng.randrange(0, 6)):
            data["orders"].append({"order_id": f"O{i:03d}{k}", "customer_id": cid, "ordered_at": _stamp(rng),
                                   "amount": float(rng.choice([20, 80, 150, 300, 450])), "channel": "web"})  # fmt: skip
        for k in range(rng.randrange(0, 14)):
            kind = rng.choice(EVENT_TYPES)
            data["events"].append({
                "event_id": f"E{i:03d}{k:02d}", "customer_id": cid, "occurred_at": _stamp(rng, date(2024, 1, 1)),
                "type": kind, "channel": "app" if kind == "page_view" and k % 2 else "web",
                "category": rng.choice(CATEGORIES), "size": rng.choice(["43", "42", None]),
            })  # fmt: skip
        for k in range(rng.randrange(0, 3)):
            data["consents"].append({"customer_id": cid, "channel": "email", "purpose": "marketing",
                                     "granted": k % 2 == 0, "recorded_at": _stamp(rng)})  # fmt: skip
    return data


def open_shop(path: Path, data: dict[str, list[dict]], yaml: str = YAML) -> segmento.Workspace:
    ws = segmento.connect(path, parse_project(yaml, Path("segmento.yaml")))
    for table in ("customers", "orders", "events", "consents"):
        if data[table]:
            report = ws.ingest(table, pd.DataFrame(data[table]))
            assert report.loaded == len(data[table]), report
    return ws


# ---- the oracle ----------------------------------------------------------------------------


def _first_day(day: date, window: str) -> date:
    n, unit = int(window[:-1]), window[-1]
    if unit == "d":
        return day - timedelta(days=n - 1)
    return day - relativedelta(months=n) + timedelta(days=1)


def features(data: dict[str, list[dict]], at: datetime) -> dict[str, dict]:
    """customer_id -> the features the test rules read, as of the instant ``at``."""
    day = at.date()
    out = {}
    for c in data["customers"]:
        if c["signup_date"] > day:
            continue
        cid, born = c["customer_id"], c["birth_date"]
        orders = [o for o in data["orders"] if o["customer_id"] == cid and o["ordered_at"] <= at]
        events = [e for e in data["events"] if e["customer_id"] == cid and e["occurred_at"] <= at]
        ledger = sorted((r for r in data["consents"] if r["customer_id"] == cid and r["recorded_at"] <= at),
                        key=lambda r: r["recorded_at"])  # fmt: skip
        last = max((o["ordered_at"] for o in orders), default=None)
        year = [o for o in orders if o["ordered_at"].date() >= _first_day(day, "12m")]
        recent = [e for e in events if e["occurred_at"].date() >= _first_day(day, "90d")]
        sent = sum(e["type"] == "email_sent" for e in events if e["occurred_at"].date() >= _first_day(day, "12m"))
        opened = sum(e["type"] == "email_open" for e in events if e["occurred_at"].date() >= _first_day(day, "12m"))
        out[cid] = {
            "gender": c["gender"],
            "age": None if born is None else day.year - born.year - ((day.month, day.day) < (born.month, born.day)),
            "orders_lifetime": len(orders),
            "recency_days": None if last is None else (day - last.date()).days,
            "spend_12m": sum(o["amount"] for o in year),
            "interests_90d": {e["category"] for e in recent
                              if e["type"] in ("product_view", "search", "add_to_cart") and e["category"]},
            "consent_email": bool(ledger) and ledger[-1]["granted"],
            "email_open_rate_12m": None if not sent else min(opened, sent) / sent,
            "events": events,
        }  # fmt: skip
    return out


def _count(events: Iterable[dict], day: date, window: str | None, types: set[str] | None, **where) -> int:
    start = date.min if window is None else _first_day(day, window)
    return sum(
        1
        for e in events
        if e["occurred_at"].date() >= start
        and (types is None or e["type"] in types)
        and all(e.get(k) in (v if isinstance(v, set) else {v}) for k, v in where.items())
    )


def members(data: dict[str, list[dict]], at: datetime) -> dict[str, set[str]]:
    """audience -> customer_ids, each audience written out by hand in Python."""
    result: dict[str, set[str]] = {name: set() for name in NAMES}
    day = at.date()
    for cid, f in features(data, at).items():
        ev = f["events"]
        vip = f["spend_12m"] >= 600
        checks = {
            "men_30_40_tennis": f["gender"] == "M" and f["age"] is not None and 30 <= f["age"] <= 40
            and "tennis" in f["interests_90d"],
            "hiking_43": _count(ev, day, "30d", {"search"}, category="hiking shoes", size="43") > 0
            or _count(ev, day, "30d", {"chatbot", "call", "selfcare"}, category="hiking shoes", size="43") > 0,
            "inactive_3m": f["orders_lifetime"] > 0 and f["recency_days"] > 90,
            "vip": vip,
            # NOT (rate < 0.5) is TRUE only when the rate is known and >= 0.5
            "email_vips": vip and f["consent_email"] and f["email_open_rate_12m"] is not None
            and f["email_open_rate_12m"] >= 0.5,
            "curious": _count(ev, day, "7d", {"product_view", "page_view"}) >= 2
            or _count(ev, day, None, {"page_view"}, channel="app") >= 3,
        }  # fmt: skip
        for name, member in checks.items():
            if member:
                result[name].add(cid)
    return result
