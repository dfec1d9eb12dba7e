"""Small summaries read from the stages for people: what the dashboard, the report and
the REST API show. Each is one aggregate in the engine; only a few rows come back."""

from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd
from ibis import _

from segmento.audiences.guidance import Guidance, guidance
from segmento.dynamics.alerts import alerts_table
from segmento.dynamics.store import snapshots
from segmento.segmentations import FrozenModel, Portrait, Segment
from segmento.segmentations import portraits as segment_portraits
from segmento.segmentations.base import Segmenter
from segmento.segmentations.registry import models_table
from segmento.workspace import Workspace


def fitted_segmentations(ws: Workspace) -> list[str]:
    """Segmentations with a fitted model or a snapshot, by name."""
    models = models_table(ws.con).select("name").distinct().to_pyarrow().column(0).to_pylist()
    taken = snapshots(ws.con).select("segmentation").distinct().to_pyarrow().column(0).to_pylist()
    return sorted(set(models) | set(taken))


def segment_sizes(ws: Workspace, segmentation: str) -> pd.DataFrame:
    """Customers per (period, segment) of every snapshot: period, segment_id, label, rank, customers, value."""
    table = snapshots(ws.con)
    rows = table.filter(table.segmentation == segmentation)
    sizes = rows.group_by(["period", "segment_id"]).agg(
        label=_.segment_label.argmax(_.period), rank=_.segment_rank.min(), customers=_.count(), value=_.value.sum()
    )
    frame = sizes.order_by(["period", "rank", "segment_id"]).to_pandas()
    frame["period"] = [pd.Timestamp(p).date() for p in frame["period"]]
    return frame.astype({"customers": "int64"})


def segment_mix(ws: Workspace, segmentation: str) -> pd.DataFrame:
    """Period x segment label customer counts, segments best first (the mix over time)."""
    sizes = segment_sizes(ws, segmentation)
    if sizes.empty:
        return pd.DataFrame()
    order = sizes.sort_values(["rank", "segment_id"]).drop_duplicates("segment_id")
    labels = dict(zip(order.segment_id, order.label))
    mix = sizes.pivot_table(index="period", columns="segment_id", values="customers", aggfunc="sum", fill_value=0)
    mix.index = [str(p) for p in mix.index]
    return mix.reindex(columns=list(labels)).rename(columns=labels).astype("int64")


def alert_counts(ws: Workspace) -> pd.DataFrame:
    """Alerts per period and kind, with the value at stake."""
    table = alerts_table(ws.con)
    counts = table.group_by(["period", "kind"]).agg(alerts=_.count(), value=_.priority.sum())
    return counts.order_by(["period", "kind"]).to_pandas()


def page(table: ibis.Table, offset: int, limit: int) -> tuple[int, list[dict]]:
    """(total rows, the rows of one page)."""
    total = int(table.count().execute())
    return total, table.limit(limit, offset=offset).to_pyarrow().to_pylist()


def recorded_guidance(ws: Workspace) -> Guidance:
    """Sizes, overlaps and warnings of the membership as last recorded (what channels are told)."""
    audiences = ws.audiences
    names = [a.name for a in audiences.list()]
    base = int(ws.table("customers").count().execute())
    return guidance(audiences.current(), names, base, datetime.now().replace(microsecond=0))


class MemberSplit(Segmenter):
    """Members of one audience against the rest, so the segment portraits can describe an audience."""

    kind = "audience"

    def __init__(self, flag: str = "_member") -> None:
        self.flag = flag

    def inputs(self) -> list[str]:
        return [self.flag]

    def expr(self, t: ibis.Table) -> ibis.Table:
        return t.mutate(segment_id=ibis.ifelse(t[self.flag], "members", "others")).drop(self.flag)


def audience_portraits(ws: Workspace, name: str, as_of: datetime) -> list[Portrait]:
    """Portraits of the audience's members (and of the rest) as of ``as_of``, against the whole base."""
    audiences = ws.audiences
    description = next((a.description for a in audiences.list() if a.name == name), "")
    members = audiences.members(name, as_of).mutate(_member=ibis.literal(True))
    features = ws.features(as_of)
    flagged = features.left_join(members, "customer_id").drop("customer_id_right")
    flagged = flagged.mutate(_member=flagged._member.fill_null(False))
    split = MemberSplit()
    split.segments_ = [Segment("members", name, 1, description), Segment("others", "rest of the base", 2)]
    model = FrozenModel(name, 0, as_of.date(), {"kind": "audience", "name": name}, split)
    return segment_portraits(ws.con, model, flagged)
