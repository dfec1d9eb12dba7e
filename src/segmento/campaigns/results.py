"""Results of a campaign, in total and per segment, treated against control.

For each target (both groups), from the knowledge base: whether the message was
delivered (reach, treated only), opens, clicks and responses (events carrying the
campaign id), and orders within the attribution window after the send (conversion and
revenue). The segment is the customer's in the latest snapshot of the segmentation
visible at her send (a period's snapshot is visible from the next day), so results read
by the segments the customers were in when the campaign went out. The per-target rows
are computed in the engine; only the comparison (counts and the revenue bootstrap) runs
in Python.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import ibis
from ibis.backends import BaseBackend

from segmento.activation.campaign_settings import CampaignDefinition
from segmento.activation.holdout import CONTROL, TARGETS, TREATED
from segmento.activation.outbox import DELIVERED, outbox
from segmento import formatting as fmt
from segmento.campaigns.stats import Uplift, mean_difference, two_proportions
from segmento.dynamics.store import require_snapshots, snapshots, visible_from
from segmento.store.tables import table

if TYPE_CHECKING:
    import pandas as pd

TOTAL = "(all)"
NO_SEGMENT = "(none)"  # no snapshot visible at the send (joined after the last one)
MINIMUM = 10  # customers in each group below which no interval is given ("too few customers to tell")
EVENT_COUNTS = {"opened": "email_open", "clicked": "email_click", "responded": "campaign_response"}


@dataclass(frozen=True)
class GroupResult:
    """One segment (or the total): sizes, what the events say, and the uplifts."""

    segment: str
    label: str
    treated: int
    control: int
    reached: int  # treated targets whose message was delivered
    opened: tuple[int, int]  # (treated, control)
    clicked: tuple[int, int]
    responded: tuple[int, int]
    converted: tuple[int, int]
    response: Uplift
    conversion: Uplift
    revenue: Uplift  # per customer

    def flat(self) -> dict[str, Any]:
        """One row for a table: counts, rates and each uplift's figures and verdict."""
        row: dict[str, Any] = {"segment": self.segment, "label": self.label, "treated": self.treated,
                               "control": self.control, "reached": self.reached}
        for name in ("opened", "clicked", "responded", "converted"):
            row[f"{name}_treated"], row[f"{name}_control"] = getattr(self, name)
        for name in ("response", "conversion", "revenue"):
            uplift: Uplift = getattr(self, name)
            row |= {f"{name}_{k}": v for k, v in asdict(uplift).items() if k != "level"}
            row[f"{name}_verdict"] = uplift.verdict
        return row


@dataclass(frozen=True)
class CampaignResults:
    """A campaign's results by segment of one segmentation (or none) and in total."""

    campaign_id: str
    segmentation: str | None
    attribution_days: int
    level: float
    total: GroupResult
    segments: list[GroupResult] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """The total then each segment, one row each (see ``GroupResult.flat``)."""
        import pandas as pd

        return pd.DataFrame([g.flat() for g in (self.total, *self.segments)])

    def to_dict(self) -> dict[str, Any]:
        return {"campaign_id": self.campaign_id, "segmentation": self.segmentation,
                "attribution_days": self.attribution_days, "level": self.level,
                "total": self.total.flat(), "segments": [g.flat() for g in self.segments]}


def uplift_text(uplift: Uplift, money: bool = False) -> str:
    """'+4.2 pt [+1.1 pt, +7.3 pt], x1.52: significant uplift' (money per customer with ``money``)."""
    if uplift.difference_low is None:
        return uplift.verdict

    def show(value: float | None) -> str:
        if money:
            return ("+" if value is not None and value > 0 else "") + fmt.money(value, digits=2)
        return fmt.points(value)

    ratio = f", x{uplift.ratio:.2f}" if uplift.ratio is not None else ""
    return (f"{show(uplift.difference)} [{show(uplift.difference_low)}, {show(uplift.difference_high)}]{ratio}: "
            f"{uplift.verdict}")


def target_outcomes(con: BaseBackend, campaign: CampaignDefinition, segmentation: str | None,
                    groups: ibis.Table | None = None) -> ibis.Table:
    """One row per target: arm, segment at the send, reached, event flags, orders and revenue in the window.
    ``groups`` (customer_id, segment[, label]) replaces the segmentation by any grouping of customers."""
    targets = table(con, TARGETS)
    t = targets.filter(targets.campaign_id == campaign.id).select("customer_id", "arm", "sent_at", "message_id")
    until = t.sent_at + ibis.interval(days=campaign.attribution_days)
    orders = con.table("orders")
    bought = t.join(orders, "customer_id").filter((orders.ordered_at > t.sent_at) & (orders.ordered_at <= until))
    bought = bought.group_by("customer_id").agg(orders=bought.order_id.count(), revenue=bought.amount.sum())
    events = con.table("events")
    events = events.filter(events.campaign_id == campaign.id)
    seen = t.join(events, "customer_id").filter((events.occurred_at >= t.sent_at) & (events.occurred_at <= until))
    seen = seen.group_by("customer_id").agg(**{name: (seen.type == kind).any() for name, kind in EVENT_COUNTS.items()})
    box = outbox(con)
    delivered = box.filter(box.status == DELIVERED).select(delivered_id="message_id")
    rows = (t.left_join(bought, "customer_id").drop("customer_id_right")
            .left_join(seen, "customer_id").drop("customer_id_right")
            .left_join(delivered, t.message_id == delivered.delivered_id))
    rows = rows.mutate(reached=rows.delivered_id.notnull(), revenue=rows.revenue.fill_null(0.0),
                       converted=rows.orders.fill_null(0) > 0,
                       **{name: rows[name].fill_null(False) for name in EVENT_COUNTS})
    rows = rows.select("customer_id", "arm", "sent_at", "reached", "converted", "revenue", *EVENT_COUNTS)
    if groups is not None:
        groups = groups.select("customer_id", "segment", label=groups.label if "label" in groups.columns else groups.segment)
        found = rows.left_join(groups.mutate(rank=ibis.literal(0)), "customer_id").drop("customer_id_right")
        return found.mutate(segment=found.segment.fill_null(NO_SEGMENT), label=found.label.fill_null(NO_SEGMENT))
    if segmentation is None:
        return rows.mutate(segment=ibis.literal(TOTAL), label=ibis.literal(TOTAL), rank=ibis.literal(0))
    require_snapshots(con, segmentation)
    snaps = snapshots(con)
    snaps = snaps.filter(snaps.segmentation == segmentation)
    joined = rows.join(snaps, "customer_id").filter(visible_from(snaps.period) <= rows.sent_at)
    latest = ibis.window(group_by="customer_id", order_by=ibis.desc("period"))
    joined = joined.mutate(_n=ibis.row_number().over(latest))
    joined = joined.filter(joined._n == 0).select("customer_id", segment="segment_id", label="segment_label",
                                                  rank="segment_rank")
    found = rows.left_join(joined, "customer_id").drop("customer_id_right")
    return found.mutate(segment=found.segment.fill_null(NO_SEGMENT), label=found.label.fill_null(NO_SEGMENT),
                        rank=found.rank.fill_null(10_000))


def compare(frame: pd.DataFrame, segment: str, label: str, level: float, resamples: int, seed: int) -> GroupResult:
    """Treated against control over the targets in ``frame``."""
    treated, control = frame[frame.arm == TREATED], frame[frame.arm == CONTROL]
    n1, n0 = len(treated), len(control)

    def counts(column: str) -> tuple[int, int]:
        return int(treated[column].sum()), int(control[column].sum())

    responded, converted = counts("responded"), counts("converted")
    revenue_t, revenue_c = treated.revenue.to_numpy(), control.revenue.to_numpy()
    uplifts = {
        "response": two_proportions(responded[0], n1, responded[1], n0, level),
        "conversion": two_proportions(converted[0], n1, converted[1], n0, level),
        "revenue": mean_difference(revenue_t, revenue_c, level, resamples, seed) if min(n1, n0) >= MINIMUM
        else Uplift(revenue_t.mean() if n1 else None, revenue_c.mean() if n0 else None, *[None] * 6, level),
    }
    if min(n1, n0) < MINIMUM:
        uplifts = {k: Uplift(u.treated, u.control, *[None] * 6, level) for k, u in uplifts.items()}
    return GroupResult(segment, label, n1, n0, int(treated.reached.sum()), counts("opened"), counts("clicked"),
                       responded, converted, **uplifts)


def campaign_results(con: BaseBackend, campaign: CampaignDefinition, segmentation: str | None = None,
                     level: float = 0.95, resamples: int = 2000, seed: int = 0,
                     groups: ibis.Table | None = None) -> CampaignResults:
    """Results of ``campaign`` in total and, given a segmentation (or ``groups``), per segment at the send."""
    frame = target_outcomes(con, campaign, segmentation, groups).to_pandas()
    total = compare(frame, TOTAL, "all targets", level, resamples, seed)
    found = []
    if segmentation is not None or groups is not None:
        for (_, segment, label), part in frame.groupby(["rank", "segment", "label"], sort=True):
            found.append(compare(part, segment, label, level, resamples, seed))
    return CampaignResults(campaign.id, segmentation, campaign.attribution_days, level, total, found)
