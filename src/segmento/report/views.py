"""Small summaries read from the stages for people: what the dashboard, the report and
the REST API show. Each is one aggregate in the engine; only a few rows come back."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

import ibis
import pandas as pd
from ibis import _

from segmento.audiences.guidance import Guidance, guidance
from segmento.dynamics.alerts import alerts_table
from segmento.dynamics.store import EXIT, NEW, periods_table, snapshots
from segmento.dynamics.trajectories import ABSENT, Trajectories
from segmento.formatting import DEFAULT_CURRENCY
from segmento.report import palette
from segmento.segmentations import FrozenModel, Portrait, Segment
from segmento.segmentations.portraits import portraits as segment_portraits
from segmento.segmentations.base import Segmenter
from segmento.segmentations.registry import models_table
from segmento.workspace import Workspace

NEW_NAME, LOST_NAME = "new customers", "lost (left the base)"  # not "New"/"Lost": RFM has segments so named


@dataclass(frozen=True)
class SegmentInfo:
    """A segment as people read it: its label, its id (shown as a tooltip), its rank, its colour."""

    id: str
    label: str
    rank: int
    colour: str


def fitted_segmentations(ws: Workspace) -> list[str]:
    """Segmentations with a fitted model or a snapshot, by name (the snapshots from their list of periods:
    every page asks, and distinct names over the membership rows take a quarter of a second on the demo base)."""
    models = models_table(ws.con).select("name").distinct().to_pyarrow().column(0).to_pylist()
    taken = periods_table(ws.con).select("segmentation").distinct().to_pyarrow().column(0).to_pylist()
    return sorted(set(models) | set(taken))


def segments(ws: Workspace, segmentation: str) -> dict[str, SegmentInfo]:
    """Every segment of the segmentation best first, by id: the model's (empty ones included),
    then any other seen in snapshots (an older version's)."""
    found: dict[str, tuple[str, int]] = {}
    try:
        for s in ws.segmentation_model(segmentation).segments:
            found[s.id] = (s.label, s.rank)
    except (KeyError, LookupError, ValueError):
        pass  # snapshots without a stored model: their labels are enough
    table = snapshots(ws.con)
    rows = table.filter(table.segmentation == segmentation)
    seen = rows.group_by("segment_id").agg(label=_.segment_label.argmax(_.period), rank=_.segment_rank.min())
    for row in seen.to_pyarrow().to_pylist():
        found.setdefault(row["segment_id"], (row["label"], int(row["rank"])))
    order = sorted(found, key=lambda s: (found[s][1], s))
    colours = palette.segment_colours(len(order))
    return {s: SegmentInfo(s, found[s][0], found[s][1], colours[i]) for i, s in enumerate(order)}


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


def segment_mix(ws: Workspace, segmentation: str, info: dict[str, SegmentInfo] | None = None) -> pd.DataFrame:
    """Period x segment id customer counts, segments best first (the mix over time)."""
    sizes = segment_sizes(ws, segmentation)
    if sizes.empty:
        return pd.DataFrame()
    order = list(info if info is not None else segments(ws, segmentation))
    mix = sizes.pivot_table(index="period", columns="segment_id", values="customers", aggfunc="sum", fill_value=0)
    mix.index = [str(p) for p in mix.index]
    return mix.reindex(columns=[s for s in order if s in mix.columns]).astype("int64")


def currency(ws: Workspace) -> str:
    """The base's currency: the most frequent one on orders (EUR when none is recorded)."""
    orders = ws.table("orders")
    if "currency" not in orders.columns:
        return DEFAULT_CURRENCY
    top = orders.group_by("currency").agg(n=_.count()).order_by(ibis.desc("n")).limit(1).to_pyarrow().to_pylist()
    return (top[0]["currency"] if top and top[0]["currency"] else DEFAULT_CURRENCY).upper()


def data_start(ws: Workspace) -> date | None:
    """The first order's day: features over a window longer than the history before a date are incomplete."""
    first = ws.table("orders").ordered_at.min().to_pyarrow().as_py()
    return first.date() if first is not None else None


def alert_counts(ws: Workspace) -> pd.DataFrame:
    """Alerts per period and kind, with the value at stake."""
    table = alerts_table(ws.con)
    counts = table.group_by(["period", "kind"]).agg(alerts=_.count(), value=_.priority.sum())
    return counts.order_by(["period", "kind"]).to_pandas()


def page(table: ibis.Table, offset: int, limit: int) -> tuple[int, list[dict]]:
    """(total rows, the rows of one page)."""
    total = int(table.count().execute())
    return total, table.limit(limit, offset=offset).to_pyarrow().to_pylist()


def move_totals(counts: pd.DataFrame, revenue: pd.DataFrame, info: dict[str, SegmentInfo]) -> pd.DataFrame:
    """Customers and revenue of a transition matrix per direction: up, down, stay, new, lost."""
    totals = {key: [0, 0.0] for key in (palette.UP, palette.DOWN, palette.STAY, palette.NEW, palette.LOST)}
    for a in counts.index:
        for b in counts.columns:
            if a == NEW and b == EXIT:
                continue
            key = palette.direction(_rank(a, info, NEW), _rank(b, info, EXIT))
            totals[key][0] += int(counts.at[a, b])
            totals[key][1] += float(revenue.at[a, b])
    return pd.DataFrame.from_dict(totals, orient="index", columns=["customers", "revenue"])


def _rank(segment: str, info: dict[str, SegmentInfo], absent: str) -> float | None:
    if segment == absent:
        return None
    return float(info[segment].rank) if segment in info else float("inf")


@dataclass
class Flows:
    """A Sankey's content: nodes (column, name, colour, rank), links (source, target, customers, direction)."""

    periods: list[str]
    nodes: list[tuple[int, str, str]]
    links: list[tuple[int, int, int, str]]


def flows(paths: Trajectories, info: dict[str, SegmentInfo]) -> Flows:
    """Links between consecutive periods, segments best first in each column; customers not
    yet in the base enter from 'new', those gone leave to 'lost' (not a '-' segment)."""
    by_label = {s.label: s for s in info.values()}
    columns = [p.isoformat() for p in paths.periods]
    order = [s.label for s in info.values()]
    nodes: dict[tuple[int, str], int] = {}
    links: Counter[tuple[int, int, str]] = Counter()
    for i, (before, after) in enumerate(zip(columns, columns[1:])):
        for a, b, n in paths.pairs(before, after).itertuples(index=False):
            if a == ABSENT and b == ABSENT:
                continue
            source = NEW_NAME if a == ABSENT else a
            target = LOST_NAME if b == ABSENT else b
            ranks = [by_label[x].rank if x in by_label else None for x in (a, b)]
            for key in ((i, source), (i + 1, target)):
                nodes.setdefault(key, len(nodes))
            links[(nodes[(i, source)], nodes[(i + 1, target)], palette.direction(*ranks))] += int(n)
    rank = {name: k for k, name in enumerate([NEW_NAME, *order, LOST_NAME])}
    ordered = sorted(nodes, key=lambda key: (key[0], rank.get(key[1], len(rank))))
    renumber = {nodes[key]: k for k, key in enumerate(ordered)}
    colour = {s.label: s.colour for s in info.values()} | {NEW_NAME: palette.MOVES[palette.NEW],
                                                            LOST_NAME: palette.MOVES[palette.LOST]}
    return Flows(
        columns,
        [(col, name, colour.get(name, palette.NEUTRAL)) for col, name in ordered],
        [(renumber[s], renumber[t], n, d) for (s, t, d), n in sorted(links.items(), key=lambda kv: renumber[kv[0][0]])],
    )


def changed_paths(paths: Trajectories, top: int = 15) -> tuple[pd.DataFrame, int]:
    """The most frequent paths that changed segment at least once ('new'/'lost' named, repeats merged),
    and how many customers kept one segment throughout (a customer who left the base changed)."""
    counted = paths.counts()  # one row per distinct path, counted in the engine
    wide, weight = counted[paths.columns], counted["customers"]
    seen = (wide != ABSENT).any(axis=1)

    def steps(row: pd.Series) -> list[str]:
        present, out = False, []
        for value in row:
            present = present or value != ABSENT
            name = value if value != ABSENT else LOST_NAME if present else NEW_NAME
            if not out or out[-1] != name:
                out.append(name)
        return out

    named = wide[seen].apply(steps, axis=1)
    moved = named.map(len) > 1
    steady = int(weight[seen][~moved].sum())
    if not moved.any():
        return pd.DataFrame(columns=["path", "customers"]), steady
    named_paths = pd.DataFrame({"path": named[moved].map(" → ".join), "customers": weight[seen][moved]})
    summed = named_paths.groupby("path", sort=False)["customers"].sum()
    ordered = summed.sort_values(ascending=False, kind="stable").head(top)
    return ordered.rename_axis("path").reset_index(name="customers"), steady


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
