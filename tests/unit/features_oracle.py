"""Brute-force, pure-Python features as of D: the specification the Ibis code is checked against.

Written from the definitions, row by row, sharing no code with segmento.features
(windows use dateutil's relativedelta, ages too).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta

from dateutil.relativedelta import relativedelta

CONSENT_CHANNELS = ("email", "sms", "phone", "push", "post")
INTENT = ("product_view", "search", "add_to_cart")
WINDOWS = {"rfm": ["90d", "12m"], "social": ["30d", "90d", "12m"], "service": ["90d"], "interests": ["30d", "90d"]}
PERIOD = "12m"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "_"


def _ratio(num: float, den: float) -> float | None:
    return None if not den else num / den


class Oracle:
    def __init__(
        self, data: dict[str, list[dict]], as_of: date | datetime, windows: dict | None = None, period: str = PERIOD
    ) -> None:
        self.data = data
        self.as_of = as_of
        self.day = as_of.date() if isinstance(as_of, datetime) else as_of
        self.windows = {**WINDOWS, **(windows or {})}
        self.period = period

    def visible(self, stamp: datetime) -> bool:
        if isinstance(self.as_of, datetime):
            return stamp <= self.as_of
        return stamp.date() <= self.as_of

    def inside(self, stamp: datetime, label: str) -> bool:
        if label == "lifetime":
            return True
        n, unit = int(label[:-1]), label[-1]
        step = {"d": timedelta(days=n), "w": timedelta(weeks=n), "m": relativedelta(months=n),
                "y": relativedelta(years=n)}[unit]  # fmt: skip
        return stamp.date() > self.day - step

    def rows(self) -> dict[str, dict]:
        """customer_id -> {feature: value} for customers signed up by D."""
        return {c["customer_id"]: self.customer(c) for c in self.data["customers"] if c["signup_date"] <= self.day}

    def categories(self) -> dict[str, list[str]]:
        visible_orders = {o["order_id"] for o in self.data["orders"] if self.visible(o["ordered_at"])}
        groups = defaultdict(set)
        for line in self.data["order_lines"]:
            if line["order_id"] in visible_orders:
                groups[_slug(line["category"])].add(line["category"])
        return {key: sorted(names) for key, names in groups.items()}

    def customer(self, c: dict) -> dict:
        cid, day, period = c["customer_id"], self.day, self.period
        out: dict = {}
        birth = c["birth_date"]
        out["age"] = relativedelta(day, birth).years if birth else None
        out["gender"] = c["gender"]
        out["tenure_days"] = (day - c["signup_date"]).days
        out["country"] = c["country"]
        postcode = (c["postcode"] or "").strip()
        out["region"] = f"{c['country']}-{postcode[:2]}" if c["country"] is not None and postcode else None
        out["city"] = c["city"]

        orders = [o for o in self.data["orders"] if o["customer_id"] == cid and self.visible(o["ordered_at"])]
        for label in [*self.windows["rfm"], "lifetime"]:
            inside = [o for o in orders if self.inside(o["ordered_at"], label)]
            out[f"orders_{label}"] = len(inside)
            out[f"spend_{label}"] = sum(o["amount"] for o in inside)
        out["avg_basket"] = _ratio(out["spend_lifetime"], out["orders_lifetime"])
        out["recency_days"] = (day - max(o["ordered_at"] for o in orders).date()).days if orders else None
        out["first_order_days"] = (day - min(o["ordered_at"] for o in orders).date()).days if orders else None

        per_day: dict[date, float] = defaultdict(float)
        for o in orders:
            per_day[o["ordered_at"].date()] += o["amount"]
        days = sorted(per_day)
        if days:
            out["btyd_frequency"] = float(len(days) - 1)
            out["btyd_recency"] = float((days[-1] - days[0]).days)
            out["btyd_T"] = float((day - days[0]).days)
            repeat = [per_day[d] for d in days[1:]]
            out["btyd_monetary_value"] = sum(repeat) / len(repeat) if repeat else 0.0
            gaps = [(b - a).days for a, b in zip(days, days[1:])]
            out["order_interval_days"] = sum(gaps) / len(gaps) if gaps else None
        else:
            out.update(btyd_frequency=None, btyd_recency=None, btyd_T=None, btyd_monetary_value=None,
                       order_interval_days=None)

        period_ids = {o["order_id"] for o in orders if self.inside(o["ordered_at"], period)}
        lines = [line for line in self.data["order_lines"] if line["order_id"] in period_ids]
        total = sum(line["quantity"] * line["unit_price"] for line in lines)
        out[f"n_categories_{period}"] = len({_slug(line["category"]) for line in lines})
        groups = self.categories()
        by_slug = {key: sum(li["quantity"] * li["unit_price"] for li in lines if _slug(li["category"]) == key)
                   for key in groups}  # fmt: skip
        best = min(groups, key=lambda key: (-by_slug[key], groups[key][0])) if groups else None
        out[f"top_category_{period}"] = groups[best][0] if total > 0 and best is not None else None
        for key in groups:
            out[f"share_cat_{key}"] = _ratio(by_slug[key], total)

        ledger = [r for r in self.data["consents"] if r["customer_id"] == cid and self.visible(r["recorded_at"])]
        for channel in CONSENT_CHANNELS:
            mine = [r for r in ledger if r["channel"] == channel and r["purpose"] == "marketing"]
            out[f"consent_{channel}"] = max(mine, key=lambda r: r["recorded_at"])["granted"] if mine else False

        events = [e for e in self.data["events"] if e["customer_id"] == cid and self.visible(e["occurred_at"])]

        def count(kind: str, label: str) -> int:
            return sum(1 for e in events if e["type"] == kind and self.inside(e["occurred_at"], label))

        sent = count("email_sent", period)
        out[f"email_open_rate_{period}"] = _ratio(min(count("email_open", period), sent), sent)
        out[f"email_click_rate_{period}"] = _ratio(min(count("email_click", period), sent), sent)

        period_orders = [o for o in orders if self.inside(o["ordered_at"], period)]
        promo = [o for o in period_orders if (o["discount_amount"] or 0) > 0]
        out[f"promo_order_share_{period}"] = _ratio(len(promo), len(period_orders))
        out[f"promo_spend_share_{period}"] = _ratio(sum(o["amount"] for o in promo),
                                                    sum(o["amount"] for o in period_orders))  # fmt: skip
        for label in self.windows["social"]:
            out[f"social_{label}"] = count("social", label)
        for channel in ("store", "web", "app"):
            n = sum(1 for o in period_orders if o["channel"] == channel)
            out[f"share_{channel}_{period}"] = _ratio(n, len(period_orders))
        for label in self.windows["service"]:
            for kind in ("chatbot", "call", "selfcare"):
                out[f"{kind}_{label}"] = count(kind, label)
        for label in self.windows["interests"]:
            intent = [e for e in events if e["type"] in INTENT and self.inside(e["occurred_at"], label)]
            out[f"interests_{label}"] = sorted({e["category"] for e in intent if e["category"] is not None})
            out[f"interest_sizes_{label}"] = sorted(
                {f"{e['category']}:{e['size']}" for e in intent if e["category"] is not None and e["size"] is not None}
            )
        return out
