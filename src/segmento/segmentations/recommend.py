"""What to do with a segment: which product, which offer, through which channel, with which message.

Everything is ranked by *index* against the whole base (segment figure / base figure x
100), not by share: hiking shoes may be the first category of every segment by spend,
but a segment is worth a hiking offer only when it buys them more than the base does.
Shares are kept beside each index so a high index on a tiny share is visible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from segmento.segmentations.labels import activity

MIN_SHARE = 0.05  # a category or channel below this share of the segment is not recommended
MIN_REACH = 0.15  # below this share of consented customers, a contact channel does not carry an offer
Ranked = list[tuple[str, float, float]]  # (name, share in the segment, index against the base)


def ranked(shares: Mapping[str, float], base: Mapping[str, float], min_share: float = MIN_SHARE) -> Ranked:
    """(name, share, index), highest index first, for names whose share is at least ``min_share``."""
    out = []
    for name, share in shares.items():
        if share is None or math.isnan(share):
            continue
        reference = base.get(name) or 0.0
        index = share / reference * 100 if reference else math.nan
        out.append((name, float(share), float(index)))
    usable = [item for item in out if item[1] >= min_share]
    return sorted(usable, key=lambda item: (-round(item[2] if not math.isnan(item[2]) else 0.0, 6), -item[1], item[0]))


def message(means: Mapping[str, float], z: Mapping[str, float]) -> str:
    """The journey a segment calls for, from its recency, value and tenure."""
    idle = activity(means)
    if idle == "never bought":
        return "First-purchase offer"
    if idle or z.get("recency_days", 0.0) >= 0.5:
        return "Win-back"
    if z.get("first_order_days", 0.0) <= -0.5:
        return "Welcome and second purchase"
    if z.get("spend_12m", 0.0) >= 0.5 or z.get("spend_lifetime", 0.0) >= 0.5:
        return "Loyalty reward"
    return "Cross-sell"


def next_best_action(means: Mapping[str, float], z: Mapping[str, float], categories: Ranked,
                     offers: Ranked, contacts: Ranked) -> str:
    """One line: message, what to offer, promotion or not, through which reachable channel."""
    what = categories[0][0] if categories else "the best sellers"
    promo = next((index for name, _, index in offers if name == "promotion"), math.nan)
    how = "with a promotion" if promo >= 120 else "at full price" if not math.isnan(promo) else ""
    reachable = sorted((c for c in contacts if c[1] >= MIN_REACH), key=lambda c: (-c[1], c[0]))
    if reachable:
        channel, reach, _ = reachable[0]
        where = f"by {channel} ({reach:.0%} reachable)"
    else:
        where = "in store or on the site (too few consented to a contact channel)"
    return " ".join(part for part in (f"{message(means, z)}: offer {what}", how, where) if part)
