"""Every rule of a period applied in one pass gives, alert for alert, what a brute-force reading
of the stored snapshots and of the orders gives: who, which segments, the value at stake and
the figures. The rules mix what a pass has to keep apart: directions up/down/any, `to`
filters, a relative change, persistence over three periods, a least value, a `where` on
features, and a condition trigger read on its edge."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from dynamics_support import VALUE_TIERS, features_by_hand

import segmento
from segmento.config import parse_project
from segmento.demo import generate

END = date(2024, 6, 30)
PROJECT = VALUE_TIERS + """dynamics:
  rules:
    - {name: climb, segmentation: value, from: [occasional, inactive], to: [good, very_good], direction: up,
       min_change: 0.5, kind: positive}
    - {name: long-slide, segmentation: value, from: [very_good, good], direction: down, persist: 3, min_value: 300}
    - {name: quiet-move, segmentation: value, where: "recency_days > 45"}
    - {name: gone-quiet, segmentation: value, from: [very_good], trigger: condition, where: "recency_days > 60"}
"""
RANKS = {"very_good": 1, "good": 2, "occasional": 3, "inactive": 4}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    data = generate(customers=600, months=20, seed=23, end=END)
    ws = segmento.connect(tmp_path_factory.mktemp("oracle") / "shop.duckdb", parse_project(PROJECT))
    for name in ("customers", "orders", "order_lines", "events", "consents"):
        ws.ingest(name, getattr(data, name))
    ws.fit_segmentation("value", END)
    ws.backfill("2023-09", "2024-06")
    yield ws, data.orders.to_pandas()
    ws.close()


def oracle(ws, orders: pd.DataFrame) -> dict[tuple[str, date, str], tuple[str, str, float, list, object]]:
    """(rule, period, customer) -> (from, to, priority, spend before/after, recency figure), read by hand."""
    snaps = ws.table("segment_snapshots").to_pandas()
    snaps["period"] = pd.to_datetime(snaps.period).dt.date
    periods = sorted(snaps.period.unique())
    seg = snaps.pivot(index="customer_id", columns="period", values="segment_id")
    value = snaps.pivot(index="customer_id", columns="period", values="value")
    first_order = orders.ordered_at.min().date()
    complete = {p for p in periods if (pd.Timestamp(p) - pd.DateOffset(months=12) + pd.Timedelta(days=1)).date() >= first_order}
    feats = {p: features_by_hand(orders, p) for p in periods}

    def at(frame, customer, column):
        got = frame[column].get(customer) if customer in frame.index else None
        return None if got is None or pd.isna(got) else got

    def rank(segment):
        return RANKS.get(segment)

    out = {}
    for i, now in enumerate(periods):
        for name, back in (("climb", 1), ("long-slide", 3), ("quiet-move", 1), ("gone-quiet", 1)):
            if i < back or not {*periods[i - back:i + 1]} <= complete:
                continue
            start = periods[i - back]
            for customer, was in seg[start].dropna().items():
                later = [seg.at[customer, p] for p in periods[i - back + 1:i + 1]]
                later = ["(exit)" if pd.isna(s) else s for s in later]
                to = later[-1]
                before = value.at[customer, start]
                after = value.at[customer, now]
                after = 0.0 if pd.isna(after) else after
                recency = at(feats[now], customer, "recency_days")
                if name == "climb":
                    hit = (was in ("occasional", "inactive") and to in ("good", "very_good") and rank(to) < rank(was)
                           and after >= before * 1.5)
                elif name == "long-slide":
                    hit = was in ("very_good", "good") and all(s == "(exit)" or rank(s) > rank(was) for s in later) \
                        and before >= 300
                elif name == "quiet-move":
                    hit = to != was and recency is not None and recency > 45
                else:
                    then = at(feats[start], customer, "recency_days")
                    hit = was == "very_good" and recency is not None and recency > 60 and not (then is not None and then > 60)
                if hit:
                    shown = [then, recency] if name == "gone-quiet" else recency
                    out[(name, now, customer)] = (was, to, before, [before, value.at[customer, now]], shown)
    return out


def test_one_pass_over_the_pairs_raises_what_the_rules_say(base):
    ws, orders = base
    stored = ws.alerts().to_pandas()
    stored["period"] = pd.to_datetime(stored.period).dt.date
    expected = oracle(ws, orders)
    assert {r for r, _, _ in expected} == {"climb", "long-slide", "quiet-move", "gone-quiet"}
    found = {}
    for row in stored.itertuples():
        figures = json.loads(row.figures)
        spend = [None if pd.isna(v) else v for v in figures["spend_12m"]]
        found[(row.rule, row.period, row.customer_id)] = (row.from_segment, row.to_segment, row.priority, spend,
                                                         figures["recency_days"])
    assert found.keys() == expected.keys()
    for key, (was, to, priority, spend, recency) in expected.items():
        got = found[key]
        assert got[:2] == (was, to), key
        assert got[2] == pytest.approx(priority), key
        assert got[3] == pytest.approx([None if pd.isna(v) else v for v in spend]), key
        assert got[4] == recency, key
