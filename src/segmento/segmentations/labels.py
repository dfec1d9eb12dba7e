"""Words for segments: a short generated label ("big spenders, store-first, insensitive to
promotions") from how a segment's feature means differ from the whole base.

One small table of phrases per known feature; unknown features fall back to
"high <feature in words>" so any features table can be described. Used by clustering (to name
clusters when fitting) and by portraits (to label and describe every segment).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

# feature -> (concept, phrase when the segment is high, phrase when low). One phrase per
# concept (spend_12m and spend_lifetime say the same thing); None: nothing worth saying.
PHRASES: dict[str, tuple[str, str | None, str | None]] = {
    "spend_12m": ("value", "big spenders", "small spenders"),
    "spend_lifetime": ("value", "high lifetime value", "low lifetime value"),
    "spend_90d": ("value", "spending now", None),
    "btyd_monetary_value": ("value", None, None),
    "orders_12m": ("frequency", "frequent buyers", "rare buyers"),
    "orders_90d": ("frequency", "buying now", None),
    "orders_lifetime": ("frequency", "many orders", "few orders"),
    "btyd_frequency": ("frequency", None, None),
    "recency_days": ("recency", "lapsing", "recent buyers"),
    "btyd_recency": ("recency", None, None),
    "tenure_days": ("tenure", "long-standing", "newcomers"),
    "first_order_days": ("tenure", "long-time buyers", "first purchase lately"),
    "order_interval_days": ("rhythm", "buy at long intervals", "buy at short intervals"),
    "btyd_T": ("tenure", None, None),
    "avg_basket": ("basket", "large baskets", "small baskets"),
    "promo_spend_share_12m": ("promo", "promotion-driven", "insensitive to promotions"),
    "promo_order_share_12m": ("promo", "promotion-driven", "insensitive to promotions"),
    "email_open_rate_12m": ("email", "email-responsive", "ignore emails"),
    "email_click_rate_12m": ("email", "email clickers", None),
    "n_categories_12m": ("categories", "multi-category", "single-category"),
    "social_30d": ("social", "socially engaged", None),
    "social_90d": ("social", "socially engaged", None),
    "social_12m": ("social", "socially engaged", None),
    "chatbot_90d": ("chatbot", "chatbot users", None),
    "call_90d": ("call", "call the service centre", None),
    "selfcare_90d": ("selfcare", "self-care users", None),
    "age": ("age", "older", "younger"),
    # predictive traits
    "p_alive": ("outlook", "likely still active", "likely lapsed"),
    "expected_orders_90d": ("outlook", "expected to buy soon", "not expected to buy soon"),
    "expected_orders_365d": ("outlook", "expected to buy this year", "not expected to buy this year"),
    "clv_12m": ("expected value", "high expected value", "low expected value"),
    "expected_avg_order_value": ("expected value", "large expected orders", "small expected orders"),
    # campaign history
    "campaigns_received_12m": ("campaigns", "often targeted", "seldom targeted"),
    "campaigns_responded_12m": ("campaign response", "campaign responders", None),
    "campaign_response_rate_12m": ("campaign response", "responsive to campaigns", "unresponsive to campaigns"),
    "promo_sensitivity_12m": ("promo", "respond to promotions", "respond to other offers"),
}
CHANNEL_SHARES = {"share_store_12m": "store", "share_web_12m": "web", "share_app_12m": "app"}
THRESHOLD = 0.35  # |standardised difference| that is worth saying


def phrase_of(feature: str) -> tuple[str, str | None, str | None]:
    """(concept, high phrase, low phrase) for any feature, known or not."""
    if feature in PHRASES:
        return PHRASES[feature]
    if feature.startswith("consent_"):
        channel = feature[len("consent_"):]
        return feature, f"reachable by {channel}", f"hard to reach by {channel}"
    if feature.startswith("share_cat_"):
        return "category", f"{feature[len('share_cat_'):].replace('_', ' ')} buyers", None
    words = feature.replace("_", " ")  # readable, never an identifier, for features without a phrase
    return feature, f"high {words}", f"low {words}"


# Phrases about how someone buys now: false of a segment that mostly did not order in 12 months.
BUYING = {"frequency", "basket", "promo", "categories", "tenure", "email", "social", "rhythm"}
WINDOWED = re.compile(r"_[0-9]+[dwmy]$")


def activity(means: Mapping[str, float]) -> str | None:
    """'never bought' / 'no order in 12 months' when most of the segment is so, else None.

    Orders are whole numbers: a mean below 0.5 means more than half the segment has none.
    """
    lifetime, recent = means.get("orders_lifetime"), means.get("orders_12m")
    if lifetime is not None and not np.isnan(lifetime) and lifetime < 0.5:
        return "never bought"
    if recent is not None and not np.isnan(recent) and recent < 0.5:
        return "no order in 12 months"
    return None


def phrases(means: Mapping[str, float], base_mean: Mapping[str, float], base_std: Mapping[str, float]) -> list[str]:
    """Distinctive phrases, most distinctive first, one per concept; the channel comes second.

    A segment that mostly did not buy lately is said so first, and gets no phrase about
    how it buys (no "long-time buyers" for the inactive, no "single-category" for those
    who never bought).
    """
    idle = activity(means)
    scored: list[tuple[float, str, str]] = []
    for feature, mean in means.items():
        std = base_std.get(feature) or 0.0
        if feature in CHANNEL_SHARES or not std or mean is None or np.isnan(mean):
            continue
        if idle and (phrase_of(feature)[0] in BUYING or WINDOWED.search(feature) or feature.startswith("share_")):
            continue
        z = (mean - base_mean[feature]) / std
        concept, high, low = phrase_of(feature)
        phrase = high if z > 0 else low
        if abs(z) >= THRESHOLD and phrase:
            scored.append((abs(z), concept, phrase))
    found: list[str] = []
    said: set[str] = set()
    for _, concept, phrase in sorted(scored, key=lambda item: -item[0]):
        if concept not in said and phrase not in found:
            found.append(phrase)
            said.add(concept)
    channel = None if idle else channel_phrase(means, base_mean)
    if channel:  # marketing always wants the channel: second place, so it makes the short label
        found.insert(min(1, len(found)), channel)
    return [idle, *[f for f in found if f != "recent buyers"]] if idle else found


def channel_phrase(means: Mapping[str, float], base_mean: Mapping[str, float]) -> str | None:
    """'store-first' when the segment's main channel is clearly above the base's habit."""
    shares = {name: means[col] for col, name in CHANNEL_SHARES.items() if col in means and means[col] is not None}
    if not shares:
        return None
    top = max(shares, key=lambda name: shares[name])
    column = next(col for col, name in CHANNEL_SHARES.items() if name == top)
    base = base_mean.get(column) or 0.0
    if shares[top] >= 0.6 or (base and shares[top] / base >= 1.2 and shares[top] >= 0.4):
        return f"{top}-first"
    return None


def short_label(found: list[str], words: int = 3) -> str:
    return ", ".join(found[:words]).capitalize() if found else "Average customers"


def unique_labels(candidates: list[list[str]]) -> list[str]:
    """One label per segment; more phrases (then a number) until no two segments share one."""
    labels = [short_label(c, 3) for c in candidates]
    for words in (4, 5):
        duplicated = {label for label in labels if labels.count(label) > 1}
        labels = [short_label(c, words) if label in duplicated else label for c, label in zip(candidates, labels)]
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if labels.count(label) == 1 else f"{label} ({seen[label]})")
    return out
