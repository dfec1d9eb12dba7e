"""Alerts against the known truth: do the demo's win-back rules find the customers who really declined?

The demo generator gives every customer a latent persona per month (the `truth` table).
A decline is a month where a loyal or regular customer becomes lapsing or churned. For each
rule of examples/demo.yaml, for all win-back alerts together (rules with journey win-back),
and for the naive rule they replace (any slide out of the top tier at a fixed cut point),
this prints: alerts raised over the complete periods, the share whose customer had not
bought within their own usual interval, precision (the customer is lapsing or churned at
the alert's period) and recall (declines alerted within 3 months).
"""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

import segmento
from benchmarks.common import line, peak_rss_mb, section, timed
from segmento.config import parse_project
from segmento.demo import generate

DEMO = Path(__file__).parents[1] / "examples" / "demo.yaml"
AS_OF = date(2024, 12, 31)
VALUABLE, DECLINING = {"loyal_high_value", "regular"}, {"lapsing", "churned"}
PREDICTIVE_FITS = (date(2024, 6, 30), AS_OF)
NAIVE = {"name": "naive-slide", "segmentation": "value", "from": ["very_good"], "direction": "down"}


def project() -> segmento.config.Project:
    """The demo's value tiers, predictive settings and rules, plus the naive rule as the baseline."""
    demo = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    value = [s for s in demo["segmentations"] if s["name"] == "value"]
    rules = [r for r in demo["dynamics"]["rules"] if r["segmentation"] == "value"] + [NAIVE]
    return parse_project(yaml.safe_dump({"segmentations": value, "predictive": demo["predictive"],
                                         "dynamics": {"rules": rules}}))


def declines(truth: pd.DataFrame) -> pd.DataFrame:
    """(customer_id, month) where a loyal or regular persona became lapsing or churned."""
    wide = truth.pivot(index="customer_id", columns="month", values="persona")
    months = list(wide.columns)
    found = [(c, now) for before, now in zip(months, months[1:])
             for c in wide.index[wide[before].isin(VALUABLE) & wide[now].isin(DECLINING)]]
    return pd.DataFrame(found, columns=["customer_id", "month"])


def score(alerts: pd.DataFrame, truth: pd.DataFrame, periods: list[date]) -> pd.DataFrame:
    """Per rule: alerts, share silent beyond their usual interval, precision, recall."""
    persona = truth.set_index(["customer_id", "month"]).persona
    episodes = declines(truth)
    episodes = episodes[episodes.month.isin(periods[:-3])]  # leave 3 months to catch each one
    out = []
    winback = alerts[alerts.journey == "win-back"].assign(rule="all win-back alerts")
    for rule, rows in pd.concat([alerts, winback]).groupby("rule", sort=False):
        figures = [json.loads(f) for f in rows.figures]
        last = [(f.get("recency_days"), f.get("order_interval_days")) for f in figures]
        last = [(r[-1] if isinstance(r, list) else r, i[-1] if isinstance(i, list) else i) for r, i in last]
        known = [(r, i) for r, i in last if r is not None and i is not None]
        silent = sum(r > i for r, i in known) / len(known) if known else float("nan")
        hit = [persona.get((c, p)) in DECLINING for c, p in zip(rows.customer_id, rows.period)]
        by_customer = rows.groupby("customer_id").period.apply(list).to_dict()
        caught = [any(0 <= (p.year - m.year) * 12 + p.month - m.month <= 3 for p in by_customer.get(c, []))
                  for c, m in zip(episodes.customer_id, episodes.month)]
        out.append({"rule": rule, "alerts": len(rows), "silent beyond usual interval": silent,
                    "precision": sum(hit) / len(rows), "recall": sum(caught) / max(len(caught), 1)})
    return pd.DataFrame(out).set_index("rule")


def run(scale: float = 0.1) -> None:
    customers = max(2000, int(50_000 * scale))
    with section(f"alerts against the generator's truth: {customers:,} customers, 24 months"), \
            tempfile.TemporaryDirectory() as tmp:
        data = generate(customers=customers, months=24, seed=42, end=AS_OF)
        with segmento.connect(Path(tmp) / "shop.duckdb", project()) as ws:
            for name in ("customers", "orders", "order_lines", "events", "consents"):
                ws.ingest(name, getattr(data, name))
            ws.fit_segmentation("value", AS_OF)
            for day in PREDICTIVE_FITS:  # as `make demo` does: rules on p_alive alert from the first fit on
                ws.fit_predictive(day)
            reports, seconds = timed(lambda: ws.backfill("2023-01", "2024-12"))
            line(f"backfill of {len(reports)} periods with the demo's rules", seconds, customers * len(reports))
            complete = [r.period for r in reports if not r.incomplete]
            print(f"    {len(reports) - len(complete)} periods flagged incomplete (no alert); peak RSS {peak_rss_mb():,.0f} MB")
            alerts = ws.alerts().to_pandas()
        alerts["period"] = pd.to_datetime(alerts.period).dt.date
        truth = data.truth.to_pandas()
        truth["month"] = pd.to_datetime(truth.month).dt.date
        table = score(alerts, truth, complete)
        print(table.to_string(float_format=lambda v: f"{v:.2f}"))
