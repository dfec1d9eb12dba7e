"""Words for segments: a short generated label ("big spenders, store-first, insensitive to
promotions") from how a segment's feature means differ from the whole base.

One small table of phrases per known feature; unknown features fall back to
"high <feature>" so any features table can be described. Used by clustering (to name
clusters when fitting) and by portraits (to label and describe every segment).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# feature -> (phrase when the segment is high, phrase when low)
PHRASES: dict[str, tuple[str | None, str | None]] = {
    "spend_12m": ("big spenders", "small spenders"),
    "spend_lifetime": ("high lifetime value", "low lifetime value"),
    "spend_90d": ("spending now", None),
    "orders_12m": ("frequent buyers", "rare buyers"),
    "orders_90d": ("buying now", None),
    "orders_lifetime": ("many orders", "few orders"),
    "recency_days": ("lapsing", "recent buyers"),
    "avg_basket": ("large baskets", "small baskets"),
    "promo_spend_share_12m": ("promotion-driven", "insensitive to promotions"),
    "promo_order_share_12m": ("promotion-driven", "insensitive to promotions"),
    "email_open_rate_12m": ("email-responsive", "ignore emails"),
    "email_click_rate_12m": ("email clickers", None),
    "tenure_days": ("long-standing", "newcomers"),
    "first_order_days": ("long-time buyers", "first purchase lately"),
    "n_categories_12m": ("multi-category", "single-category"),
    "social_90d": ("socially engaged", None),
    "chatbot_90d": ("chatbot users", None),
    "call_90d": ("call the service centre", None),
    "selfcare_90d": ("self-care users", None),
    "age": ("older", "younger"),
}
CHANNEL_SHARES = {"share_store_12m": "store", "share_web_12m": "web", "share_app_12m": "app"}
THRESHOLD = 0.35  # |standardised difference| that is worth saying


def phrases(means: Mapping[str, float], base_mean: Mapping[str, float], base_std: Mapping[str, float]) -> list[str]:
    """Distinctive phrases, most distinctive first."""
    scored: list[tuple[float, str]] = []
    for feature, mean in means.items():
        if feature in CHANNEL_SHARES or feature.startswith("share_cat_"):
            continue
        std = base_std.get(feature) or 0.0
        if not std or mean is None or np.isnan(mean):
            continue
        z = (mean - base_mean[feature]) / std
        if abs(z) < THRESHOLD:
            continue
        high, low = PHRASES.get(feature, (f"high {feature}", f"low {feature}"))
        phrase = high if z > 0 else low
        if phrase and phrase not in (p for _, p in scored):
            scored.append((abs(z), phrase))
    scored.sort(key=lambda item: -item[0])
    found = [p for _, p in scored]
    channel = channel_phrase(means, base_mean)
    if channel:  # marketing always wants the channel: second place, so it makes the short label
        found.insert(min(1, len(found)), channel)
    return found


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
