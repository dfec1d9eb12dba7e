"""The sections people read, each built once for the dashboard pages and the report:
a title, Plotly figures, small tables and notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import plotly.graph_objects as go

from segmento.dynamics.store import EXIT, NEW
from segmento.report import charts, views
from segmento.workspace import Workspace


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class Section:
    title: str
    figures: list[go.Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    anchor: str = ""


def mix(ws: Workspace, segmentation: str) -> Section:
    frame = views.segment_mix(ws, segmentation)
    section = Section(f"{segmentation}: segment mix", anchor=f"mix-{segmentation}")
    if frame.empty:
        section.notes.append("No snapshot yet: run `segmento backfill` or `segmento snapshot`.")
        return section
    section.figures.append(charts.segment_mix(frame, segmentation))
    last = frame.iloc[-1]
    section.tables.append(Table(["segment", "customers", "% of base"],
                                [[label, int(n), f"{n / max(last.sum(), 1):.1%}"] for label, n in last.items()],
                                f"at {frame.index[-1]}"))
    return section


def transitions(ws: Workspace, segmentation: str, start: date | None = None, end: date | None = None) -> Section:
    """The matrix between two periods (the last two by default)."""
    periods = ws.periods(segmentation)
    section = Section(f"{segmentation}: transition matrix", anchor=f"transitions-{segmentation}")
    if start is None or end is None:
        if len(periods) < 2:
            section.notes.append(f"Transitions need two snapshots; {len(periods)} taken.")
            return section
        start, end = periods[-2], periods[-1]
    matrix = ws.transitions(segmentation, start, end)
    section.figures.append(charts.transition_heatmap(matrix))
    moved = int(matrix.counts.drop(index=NEW, errors="ignore").drop(columns=EXIT, errors="ignore").to_numpy().sum())
    section.notes.append(
        f"{matrix.stayed:,} of {moved:,} customers present at both dates stayed in their segment "
        f"({matrix.stayed / max(moved, 1):.0%}); {int(matrix.counts.loc[NEW].sum()):,} entered, "
        f"{int(matrix.counts[EXIT].sum()):,} left."
    )
    return section


def trajectories(ws: Workspace, segmentation: str, last: int = 6, top: int = 10) -> Section:
    section = Section(f"{segmentation}: trajectories", anchor=f"trajectories-{segmentation}")
    if len(ws.periods(segmentation)) < 2:
        section.notes.append("Trajectories need two snapshots.")
        return section
    paths = ws.trajectories(segmentation, last=last)
    section.figures.append(charts.trajectory_sankey(paths.sankey(), segmentation))
    frequent = paths.top_paths(top)
    section.tables.append(Table(["path", "customers"], frequent.values.tolist(), f"most frequent paths over {last} periods"))
    return section


def portraits(ws: Workspace, segmentation: str, as_of: date | None = None) -> Section:
    """Segment portraits at ``as_of`` (default: the latest snapshot, or today)."""
    periods = ws.periods(segmentation)
    when = as_of or (periods[-1] if periods else date.today())
    found = ws.portraits(segmentation, when)
    return _portraits_section(found, f"{segmentation}: segment portraits at {when}", f"portraits-{segmentation}")


def audience_portraits(ws: Workspace, audience: str, as_of: datetime) -> Section:
    found = views.audience_portraits(ws, audience, as_of)
    return _portraits_section(found, f"audience {audience}: portrait at {as_of:%Y-%m-%d}", f"portrait-{audience}")


def _portraits_section(found: list, title: str, anchor: str) -> Section:
    section = Section(title, anchor=anchor)
    section.figures.append(charts.portrait_shares(found, "customers and revenue per segment"))
    section.figures.append(charts.portrait_indexes(found, "what sets them apart (index, base = 100)"))
    section.tables.append(Table(
        ["segment", "customers", "% of base", "channel", "portrait"],
        [[p.label, p.size, f"{p.share:.1%}", p.preferred_channel or "", p.description] for p in found],
    ))
    return section


def audiences(ws: Workspace) -> Section:
    section = Section("Audiences: sizes and overlaps", anchor="audiences")
    guidance = views.recorded_guidance(ws)
    if not guidance.sizes:
        section.notes.append("No audience defined: declare some under `audiences:` in segmento.yaml.")
        return section
    section.figures.append(charts.audience_sizes(guidance.sizes, guidance.base))
    section.figures.append(charts.audience_overlaps(guidance.overlaps))
    section.notes.extend(str(w) for w in guidance.warnings)
    return section


def alerts(ws: Workspace, limit: int = 25, **filters: Any) -> Section:
    section = Section("Trajectory alerts", anchor="alerts")
    counts = views.alert_counts(ws)
    if counts.empty:
        section.notes.append("No alert raised: declare trajectory rules under `dynamics.rules`.")
        return section
    section.figures.append(charts.alert_counts(counts))
    rows = ws.alerts(limit=limit, **filters).to_pyarrow().to_pylist()
    section.tables.append(Table(
        ["period", "customer", "rule", "move", "kind", "journey", "value at stake"],
        [[str(r["period"]), r["customer_id"], r["rule"], f"{r['from_segment']} → {r['to_segment']}", r["kind"],
          r["journey"] or "", f"{r['priority']:,.0f}"] for r in rows],
        f"highest value at stake first ({len(rows)} shown)",
    ))
    return section
