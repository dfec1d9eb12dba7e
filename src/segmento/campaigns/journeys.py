"""Journeys measured: did the customers an alert sent on a journey move back up more than their control group?

For a campaign on a trajectory rule, each target is the customer of one alert. Her segment
at the alert's period (where she slid to) is compared with her segment ``after`` snapshot
periods later, in the same segmentation: the transition probabilities out of the alert's
segment, for treated and for control customers, and the share who moved back up (a better
rank), with the uplift of that share and its interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ibis.backends import BaseBackend

from segmento.activation.campaign_settings import CampaignDefinition
from segmento.activation.holdout import TARGETS
from segmento.campaigns.stats import Uplift, two_proportions
from segmento.dynamics.store import snapshots, taken_periods
from segmento.errors import NotReadyError, SegmentoError
from segmento.store.registry import ALERTS
from segmento.store.tables import table

if TYPE_CHECKING:
    import pandas as pd

LOST = "(exit)"  # no snapshot row at the later period: left the base


@dataclass(frozen=True)
class JourneyMoves:
    """Where treated and control customers were ``after`` periods after their alert."""

    campaign_id: str
    segmentation: str
    after: int
    probabilities: pd.DataFrame  # index: arm; columns: later segment label (best first); rows sum to 1
    counts: pd.DataFrame
    moved_up: Uplift  # share with a better rank than at the alert, treated vs control


def journey_moves(con: BaseBackend, campaign: CampaignDefinition, after: int = 1, level: float = 0.95) -> JourneyMoves:
    """Transition probabilities of treated vs control customers from their alert's period to ``after`` periods on."""
    if campaign.alert is None:
        raise SegmentoError(f"campaign {campaign.id} targets {campaign.target_kind} {campaign.target}, not an alert "
                            "rule: its results are by segment (segmento campaign results)")
    targets = table(con, TARGETS)
    alerts = table(con, ALERTS.name)
    rows = targets.filter(targets.campaign_id == campaign.id).join(alerts, targets.source_id == alerts.alert_id)
    rows = rows.select("customer_id", "arm", "period", "segmentation").to_pyarrow().to_pandas(date_as_object=True)
    if rows.empty:
        raise NotReadyError(f"campaign {campaign.id} has no target yet: its alerts are drawn as they are raised "
                            "(segmento snapshot or backfill)")
    segmentation = rows.segmentation.iloc[0]
    periods = taken_periods(con, segmentation)
    later = {p: periods[periods.index(p) + after] for p in set(rows.period) if periods.index(p) + after < len(periods)}
    rows["later"] = rows.period.map(later)
    rows = rows.dropna(subset=["later"])
    if rows.empty:
        raise NotReadyError(f"no snapshot of {segmentation} {after} period(s) after the alerts of {campaign.id} yet")
    snaps = snapshots(con)
    snaps = snaps.filter((snaps.segmentation == segmentation) & snaps.period.isin(sorted({*rows.period, *rows.later})))
    snaps = snaps.select("customer_id", "period", "segment_label", "segment_rank").to_pyarrow()
    snaps = snaps.to_pandas(date_as_object=True)
    at = snaps.rename(columns={"segment_rank": "rank_then"}).drop(columns="segment_label")
    then = snaps.rename(columns={"period": "later", "segment_label": "now", "segment_rank": "rank_now"})
    rows = rows.merge(at, on=["customer_id", "period"], how="left").merge(then, on=["customer_id", "later"], how="left")
    rows["now"] = rows.now.fillna(LOST)
    rows["up"] = rows.rank_now < rows.rank_then
    order = [label for label, _ in sorted(snaps.groupby("segment_label").segment_rank.min().items(), key=lambda kv: kv[1])]
    counts = rows.groupby(["arm", "now"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=[c for c in [*order, LOST] if c in counts.columns])
    treated, control = rows[rows.arm == "treated"], rows[rows.arm == "control"]
    moved = two_proportions(int(treated.up.sum()), len(treated), int(control.up.sum()), len(control), level)
    return JourneyMoves(campaign.id, segmentation, after, counts.div(counts.sum(axis=1), axis=0), counts, moved)
