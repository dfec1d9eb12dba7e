"""Granularity guidance: sizes, overlaps and warnings, as the source documents advise.

Too many fine criteria make segments nobody can use; criteria not crossed make groups
too heterogeneous to address ("a segmentation by gender alone gives 2 segments with
very varied aspirations"). So the guidance flags audiences that are empty, tiny, broad,
or near duplicates of another, from sizes and the overlap matrix computed in the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import ibis
import pandas as pd
from ibis import _

EMPTY, TINY, BROAD, DUPLICATE = "empty", "tiny", "broad", "near_duplicate"


@dataclass(frozen=True)
class Thresholds:
    """When an audience is tiny (below both), broad, or a near duplicate (Jaccard overlap)."""

    tiny_count: int = 30
    tiny_share: float = 0.005
    broad_share: float = 0.3  # an audience of a third of the base is rarely one target
    duplicate_jaccard: float = 0.9


@dataclass(frozen=True)
class AudienceWarning:
    audience: str
    kind: str  # empty | tiny | broad | near_duplicate
    message: str

    def __str__(self) -> str:
        return f"{self.audience}: {self.message}"


@dataclass
class Guidance:
    """Sizes, the overlap matrix (shared members; sizes on the diagonal) and warnings."""

    as_of: datetime
    base: int
    sizes: dict[str, int]
    overlaps: pd.DataFrame
    warnings: list[AudienceWarning] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"audiences as of {self.as_of:%Y-%m-%d %H:%M}, base {self.base:,} customers"]
        lines += [f"  {name}: {size:,} ({_share(size, self.base)})" for name, size in self.sizes.items()]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _share(size: int, base: int) -> str:
    """64.5%, 0.3%, 0.003%: small shares keep two significant digits."""
    if not base:
        return "-"
    percent = 100 * size / base
    return f"{percent:.1f}%" if percent >= 1 or percent == 0 else f"{percent:.2g}%"


def guidance(members: ibis.Table, names: list[str], base: int, as_of: datetime,
             thresholds: Thresholds = Thresholds()) -> Guidance:
    """Guidance from ``members`` (customer_id, audience) of ``names`` and the base size."""
    other = members.select(customer_id=_.customer_id, other=_.audience)
    pairs = members.join(other, "customer_id").group_by(["audience", "other"]).agg(n=_.count())
    counts = pairs.to_pandas()
    overlaps = pd.DataFrame(0, index=pd.Index(names, name="audience"), columns=pd.Index(names), dtype="int64")
    for row in counts.itertuples(index=False):
        overlaps.loc[row.audience, row.other] = row.n
    sizes = {name: int(overlaps.loc[name, name]) for name in names}
    return Guidance(as_of, base, sizes, overlaps, warnings(sizes, overlaps, base, thresholds))


def warnings(sizes: dict[str, int], overlaps: pd.DataFrame, base: int, t: Thresholds) -> list[AudienceWarning]:
    found = []
    tiny = max(t.tiny_count, t.tiny_share * base)
    for name, size in sizes.items():
        if size == 0:
            found.append(AudienceWarning(name, EMPTY, "empty: no customer matches; check the rule's values and "
                                                      "thresholds"))
        elif size < tiny:
            found.append(AudienceWarning(name, TINY, f"tiny: {size:,} customers ({_share(size, base)} of the base); "
                                                     "too few to act on, widen the rule or merge it into another"))
        elif base and size > t.broad_share * base:
            found.append(AudienceWarning(name, BROAD, f"broad: {_share(size, base)} of the base; a group this large is "
                                                      "rarely homogeneous, cross it with another criterion"))
    names = list(sizes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            shared = int(overlaps.loc[a, b])
            union = sizes[a] + sizes[b] - shared
            if union and shared / union >= t.duplicate_jaccard:
                found.append(AudienceWarning(a, DUPLICATE, f"near duplicate of {b!r}: {shared / union:.0%} of their "
                                                           "members are shared; merge them or sharpen one"))
    return found
