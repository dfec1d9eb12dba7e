"""Segment portraits: who they are, what they buy, where, how to reach them, what to say.

Aggregated in the engine (one group-by over the features table with segments, staged a
slice of customers at a time; one for the whole base; one for the top values of text
features); only one row per segment comes back. Each feature's index is the segment mean
over the base mean x 100; the distinctive features are those with the largest standardised
difference (segment mean - base mean) / base std. Categories, channels, offer types and
contact channels are ranked by index (see recommend.py), and each segment gets a next best
action.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from segmento.segmentations.assign import with_segments
from segmento.segmentations.labels import CHANNEL_SHARES, channel_phrase, phrases, short_label
from segmento.segmentations.recommend import next_best_action, ranked
from segmento.segmentations.registry import FrozenModel
from segmento.store.engines import engine_of
from segmento.store.slices import customer_ranges, within

CONSENT_PREFIX = "consent_"
CATEGORY_PREFIX = "share_cat_"
REACTIVITY = ("email_open_rate_12m", "email_click_rate_12m")
PROMO = ("promo_spend_share_12m", "promo_order_share_12m")
PREDICTED = ("p_alive", "expected_orders_365d", "clv_12m")  # features of the predictive stage, when fitted
# A median holds every value of its group, outside the engine's memory limit: all 60 columns at once took
# 0.7-0.9 GB more at 1M customers. A few at a time keep that to a few columns' values.
MEDIANS_AT_ONCE = 8


@dataclass
class Portrait:
    """One segment described for marketing: the right product, message and channel."""

    segment_id: str
    label: str
    rank: int
    size: int
    share: float
    revenue_share: float | None
    stats: pd.DataFrame = field(repr=False)  # per feature: mean, median, std, base_mean, base_std, index, z
    distinctive: list[tuple[str, float]]  # (feature, z), most distinctive first
    top_values: dict[str, list[tuple[str, float]]]  # text feature -> [(value, share of segment)]
    top_categories: list[tuple[str, float, float | None]]  # (category, mean share of spend, index), highest index first
    preferred_channel: str | None  # the purchase channel with the highest index against the base
    channel_shares: dict[str, float | None]
    reach: dict[str, float | None]  # consent channel -> share of the segment reachable
    reactivity: dict[str, float | None]
    promo_sensitivity: dict[str, float | None]
    generated_label: str
    description: str
    channels: list[tuple[str, float, float | None]] = field(default_factory=list)  # purchase channels (share, index)
    offers: list[tuple[str, float, float | None]] = field(default_factory=list)  # promotion / full price (share, index)
    contacts: list[tuple[str, float, float | None]] = field(default_factory=list)  # consented channels (reach, index)
    next_best_action: str = ""

    @property
    def predicted(self) -> dict[str, float]:
        """Segment means of the predictive traits (p_alive, expected orders, clv_12m), when a model was fitted."""
        return {name: float(self.stats["mean"][name]) for name in PREDICTED
                if name in self.stats.index and self.stats["mean"][name] == self.stats["mean"][name]}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["predicted"] = self.predicted
        data["stats"] = self.stats.reset_index(names="feature").replace({np.nan: None}).to_dict("records")
        return data


def portraits(
    con: BaseBackend, model: FrozenModel, features: ibis.Table, *, revenue: str = "spend_12m", top: int = 3
) -> list[Portrait]:
    """A portrait of every segment of ``model`` over ``features``, best segment first."""
    schema = with_segments(model, features).schema()
    numeric = [c for c, t in schema.items() if c not in ("customer_id", "segment_id") and (t.is_numeric() or t.is_boolean())]
    text = [c for c, t in schema.items() if c not in ("customer_id", "segment_id") and t.is_string()]
    # staged a slice of customers at a time: the whole base's features at once took more than 2 GB at 1M
    slices = [with_segments(model, features.filter(within(features.customer_id, bounds))) for bounds in customer_ranges(con)]
    slices = [part.select("segment_id", *numeric, *text) for part in slices]
    with engine_of(con).staged_parts(slices) as cached:
        by_segment = _aggregate(cached, numeric, revenue, ["segment_id"]).set_index("segment_id")
        base = _aggregate(cached, numeric, revenue, []).iloc[0]
        tops = _top_values(cached, text, top)
    return [
        _portrait(segment, by_segment.loc[segment.id] if segment.id in by_segment.index else None, base, numeric,
                  tops.get(segment.id, {}), revenue)
        for segment in model.segments
    ]


def _aggregate(t: ibis.Table, numeric: list[str], revenue: str, by: list[str]) -> pd.DataFrame:
    """Count, mean, median and standard deviation of each numeric column, per ``by`` (one row if none)."""

    def aggregated(metrics: dict[str, ibis.Value]) -> pd.DataFrame:
        return (t.group_by(by).aggregate(**metrics) if by else t.aggregate(**metrics)).to_pandas()

    metrics: dict[str, ibis.Value] = {"_n": t.count()}
    for c in numeric:
        value = t[c].cast("float64")
        metrics |= {f"{c}__mean": value.mean(), f"{c}__std": value.std(how="pop")}
    if revenue in numeric:
        metrics["_revenue"] = t[revenue].cast("float64").sum()
    frame = aggregated(metrics)
    for start in range(0, len(numeric), MEDIANS_AT_ONCE):
        chunk = numeric[start:start + MEDIANS_AT_ONCE]
        medians = aggregated({f"{c}__median": t[c].cast("float64").median() for c in chunk})
        frame = frame.merge(medians, on=by) if by else frame.assign(**medians.iloc[0])
    return frame


def _top_values(t: ibis.Table, text: list[str], top: int) -> dict[str, dict[str, list[tuple[str, float]]]]:
    """segment -> text feature -> its most frequent values with their share of the segment."""
    if not text:
        return {}
    parts = [t.select("segment_id", feature=ibis.literal(c), value=t[c]) for c in text]
    counts = ibis.union(*parts).group_by("segment_id", "feature", "value").agg(n=ibis._.count()).to_pandas()
    counts = counts.dropna(subset=["value"])
    totals = counts.groupby(["segment_id", "feature"]).n.transform("sum")
    counts = counts.assign(share=counts.n / totals).sort_values(["n", "value"], ascending=[False, True])
    out: dict[str, dict[str, list[tuple[str, float]]]] = {}
    for (segment, feature), rows in counts.groupby(["segment_id", "feature"], sort=False):
        out.setdefault(segment, {})[feature] = [(str(v), float(s)) for v, s in zip(rows.value[:top], rows.share[:top])]
    return out


def _portrait(segment: Any, row: pd.Series | None, base: pd.Series, numeric: list[str],
              tops: dict[str, list[tuple[str, float]]], revenue: str) -> Portrait:
    size = int(row["_n"]) if row is not None else 0
    stats = pd.DataFrame(
        {
            "mean": [row[f"{c}__mean"] if row is not None else np.nan for c in numeric],
            "median": [row[f"{c}__median"] if row is not None else np.nan for c in numeric],
            "std": [row[f"{c}__std"] if row is not None else np.nan for c in numeric],
            "base_mean": [base[f"{c}__mean"] for c in numeric],
            "base_std": [base[f"{c}__std"] for c in numeric],
        },
        index=numeric,
        dtype="float64",
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        stats["index"] = np.where(stats.base_mean != 0, stats["mean"] / stats.base_mean * 100, np.nan)
        stats["z"] = np.where(stats.base_std > 0, (stats["mean"] - stats.base_mean) / stats.base_std, np.nan)
    distinctive = stats.z.dropna().abs().sort_values(ascending=False).index[:5]
    means, base_means, base_stds = stats["mean"].to_dict(), stats.base_mean.to_dict(), stats.base_std.to_dict()
    channel_shares = {name: float(means[c]) for c, name in CHANNEL_SHARES.items() if c in means and not np.isnan(means[c])}
    channels = ranked(channel_shares, {name: base_means[c] for c, name in CHANNEL_SHARES.items() if c in base_means})
    category_columns = {c[len(CATEGORY_PREFIX):].replace("_", " "): c for c in numeric if c.startswith(CATEGORY_PREFIX)}
    categories = ranked({name: means[c] for name, c in category_columns.items()},
                        {name: base_means[c] for name, c in category_columns.items()})[:3]
    offers = []
    if PROMO[0] in means and not np.isnan(means[PROMO[0]]):
        offers = ranked({"promotion": means[PROMO[0]], "full price": 1 - means[PROMO[0]]},
                        {"promotion": base_means[PROMO[0]], "full price": 1 - base_means[PROMO[0]]}, 0.0)
    consent = {c[len(CONSENT_PREFIX):]: c for c in numeric if c.startswith(CONSENT_PREFIX)}
    contacts = ranked({n: means[c] for n, c in consent.items()}, {n: base_means[c] for n, c in consent.items()}, 0.0)
    revenue_share = None
    if "_revenue" in base and base["_revenue"]:
        revenue_share = float(row["_revenue"] / base["_revenue"]) if row is not None else 0.0
    portrait = Portrait(
        segment_id=segment.id,
        label=segment.label,
        rank=segment.rank,
        size=size,
        share=size / int(base["_n"]) if base["_n"] else 0.0,
        revenue_share=revenue_share,
        stats=stats,
        distinctive=[(f, float(stats.at[f, "z"])) for f in distinctive],
        top_values=tops,
        top_categories=categories,
        preferred_channel=channels[0][0] if channels else None,
        channel_shares=channel_shares,
        reach={c[len(CONSENT_PREFIX):]: float(means[c]) for c in numeric if c.startswith(CONSENT_PREFIX)},
        reactivity={c: float(means[c]) for c in REACTIVITY if c in means},
        promo_sensitivity={c: float(means[c]) for c in PROMO if c in means}
        | {f"{c}_index": float(stats.at[c, "index"]) for c in PROMO if c in means},
        generated_label="",
        description="",
        channels=channels,
        offers=offers,
        contacts=contacts,
    )
    found = phrases(means, base_means, base_stds) if size else []
    portrait.generated_label = short_label(found, 3) if size else "Empty segment"
    portrait.description = describe(portrait, found)
    if size:
        portrait.next_best_action = next_best_action(means, stats.z.fillna(0.0).to_dict(), categories, offers, contacts)
    return portrait


def describe(p: Portrait, found: list[str]) -> str:
    """One paragraph: weight, value, products, channel, reach, reactivity, promotions."""
    if not p.size:
        return f"{p.label}: no customer in this segment."
    s = p.stats
    generated = "" if p.generated_label.lower() == p.label.lower() else f" ({p.generated_label.lower()})"
    opening = f"{p.label}{generated}: {p.share:.1%} of customers"
    opening += f" and {p.revenue_share:.1%} of revenue." if p.revenue_share is not None else "."
    sentences = [opening]
    idle = found[0] if found and found[0] in ("never bought", "no order in 12 months") else None
    value = []
    if "spend_12m" in s.index and not np.isnan(s.at["spend_12m", "index"]) and not idle:
        value.append(f"spend {s.at['spend_12m', 'mean']:,.0f} a year on average (index {s.at['spend_12m', 'index']:.0f})")
    if "orders_12m" in s.index and not idle:
        value.append(f"order {s.at['orders_12m', 'mean']:.1f} times a year")
    if "recency_days" in s.index and not np.isnan(s.at["recency_days", "median"]):
        value.append(f"last bought {s.at['recency_days', 'median']:.0f} days ago (median)")
    if value:
        sentences.append("They " + ", ".join(value) + ".")
    if idle:
        sentences.append(f"Most of them {'never bought' if idle == 'never bought' else 'placed no order in 12 months'}.")
    if p.top_categories and not idle:
        sentences.append("They buy more than the base: " + ", ".join(
            f"{c} (index {i:.0f}, {v:.0%} of their spend)" for c, v, i in p.top_categories) + ".")
    if p.preferred_channel and not idle:
        phrase = channel_phrase(s["mean"].to_dict(), s.base_mean.to_dict())
        share, index = next((v, i) for c, v, i in p.channels if c == p.preferred_channel)
        sentences.append(f"Channel they favour: {p.preferred_channel} ({share:.0%} of their spend, index {index:.0f})"
                         f"{', clearly ' + phrase if phrase else ''}.")
    if p.reach:
        best = sorted(p.reach.items(), key=lambda kv: -kv[1])
        sentences.append("Reachable by " + ", ".join(f"{c} {v:.0%}" for c, v in best) + ".")
    if not np.isnan(p.reactivity.get("email_open_rate_12m", np.nan)) and not idle:
        index = s.at["email_open_rate_12m", "index"]
        sentences.append(f"They open {p.reactivity['email_open_rate_12m']:.0%} of emails (index {index:.0f}).")
    if not np.isnan(p.promo_sensitivity.get("promo_spend_share_12m_index", np.nan)) and not idle:
        index = p.promo_sensitivity["promo_spend_share_12m_index"]
        verdict = "promotion-sensitive" if index >= 120 else "insensitive to promotions" if index <= 80 else "average on promotions"
        sentences.append(f"Promotions make {p.promo_sensitivity['promo_spend_share_12m']:.0%} of their spend "
                         f"(index {index:.0f}): {verdict}.")
    if found[3:6]:
        sentences.append("Also " + ", ".join(found[3:6]) + ".")
    return " ".join(sentences)


def portraits_frame(items: list[Portrait]) -> pd.DataFrame:
    """One row per segment, for a table in a notebook, the CLI or the report."""
    return pd.DataFrame(
        [
            {
                "segment_id": p.segment_id, "label": p.label, "rank": p.rank, "size": p.size, "share": p.share,
                "revenue_share": p.revenue_share, "generated_label": p.generated_label,
                "preferred_channel": p.preferred_channel,
                "distinctive": ", ".join(f"{f} ({z:+.1f})" for f, z in p.distinctive[:3]),
                "description": p.description,
                "next_best_action": p.next_best_action,
            }
            for p in items
        ]
    )
