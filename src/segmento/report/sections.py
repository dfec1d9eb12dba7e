"""The sections people read, each built once for the dashboard pages and the report:
a title, headline figures, Plotly figures, small tables, a colour legend, notes and warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import plotly.graph_objects as go

from segmento import formatting as fmt
from segmento.dynamics.freshness import incomplete_periods
from segmento.report import charts, palette, views
from segmento.segmentations import Portrait
from segmento.workspace import Workspace

WINDOW_MONTHS = 12  # the longest feature window the segmentations read (spend_12m, orders_12m)


@dataclass
class Cell:
    """A table cell for people: its text, the id behind it (a tooltip), a link, a class (num: right-aligned)."""

    text: str
    tip: str = ""
    href: str = ""
    cls: str = ""
    colour: str = ""


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""
    numeric: tuple[int, ...] = ()  # columns to right-align


@dataclass
class Tile:
    """A headline figure: '12,345' over 'customers', with a detail line."""

    label: str
    value: str
    detail: str = ""


@dataclass
class Section:
    title: str
    figures: list[go.Figure | dict[str, Any]] = field(default_factory=list)  # a plain spec where built per request
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    anchor: str = ""
    tiles: list[Tile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, meaning)
    tables_first: bool = False  # e.g. the audiences' rules before their charts


def named(info: dict[str, views.SegmentInfo], segment: str) -> Cell:
    """A segment's label with its id as the tooltip ('new'/'lost' for the matrix margins)."""
    if segment in info:
        return Cell(info[segment].label, tip=segment, colour=info[segment].colour)
    return Cell(views.NEW_NAME if segment == "(new)" else views.LOST_NAME if segment == "(exit)" else segment)


def incomplete_until(ws: Workspace) -> date | None:
    """The first period end whose 12-month windows hold a full year of history."""
    start = views.data_start(ws)
    if start is None:
        return None
    month = start.month + WINDOW_MONTHS
    return date(start.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def mix(ws: Workspace, segmentation: str) -> Section:
    info = views.segments(ws, segmentation)
    frame = views.segment_mix(ws, segmentation, info)
    section = Section(f"{segmentation}: segment mix", anchor=f"mix-{segmentation}")
    if frame.empty:
        section.notes.append("No snapshot yet: run `segmento backfill` or `segmento snapshot`.")
        return section
    full_from = incomplete_until(ws)
    section.figures.append(charts.segment_mix(frame, info, segmentation, full_from))
    flagged = incomplete_periods(ws.con, segmentation)
    if flagged:
        first, latest = min(flagged), max(flagged)
        section.warnings.append(f"{len(flagged)} period(s) from {first} to {latest} have incomplete windows "
                                f"({flagged[latest]}): their mix is not comparable and they raised no alert.")
    elif full_from is not None and frame.index[0] < full_from.isoformat():
        section.warnings.append(f"Periods before {full_from} read less than {WINDOW_MONTHS} months of history "
                                "(the data starts later): their shares understate the best segments.")
    last, previous = frame.iloc[-1], frame.iloc[-2] if len(frame) > 1 else frame.iloc[-1] * 0
    total, before = max(int(last.sum()), 1), max(int(previous.sum()), 1)
    rows = [[named(info, s), Cell(fmt.count(n)), Cell(fmt.percent(n / total)),
             Cell(fmt.points(n / total - previous[s] / before))] for s, n in last.items()]
    section.tables.append(Table(["segment", "customers", "% of base", "change vs previous period"], rows,
                                f"at {frame.index[-1]}", numeric=(1, 2, 3)))
    empty = [info[s].label for s, n in last.items() if n == 0] + [i.label for s, i in info.items() if s not in last]
    if empty:
        section.warnings.append(f"Empty at {frame.index[-1]}: {', '.join(empty)}.")
    return section


def transitions(ws: Workspace, segmentation: str, start: date | None = None, end: date | None = None) -> Section:
    """The matrix between two periods (the last two by default), with up/down/stay totals."""
    periods = ws.periods(segmentation)
    section = Section(f"{segmentation}: transition matrix", anchor=f"transitions-{segmentation}")
    if start is None or end is None:
        if len(periods) < 2:
            section.notes.append(f"Transitions need two snapshots; {len(periods)} taken.")
            return section
        start, end = periods[-2], periods[-1]
    matrix = ws.transitions(segmentation, start, end)
    info, currency = views.segments(ws, segmentation), views.currency(ws)
    section.figures.append(charts.transition_heatmap(matrix, info, currency))
    totals = views.move_totals(matrix.counts, matrix.revenue, info)
    present = int(totals.loc[[palette.UP, palette.DOWN, palette.STAY], "customers"].sum())
    rows = [[Cell(palette.MOVE_NAMES[key], colour=palette.MOVES[key]), Cell(fmt.count(row.customers)),
             Cell(fmt.percent(row.customers / present) if key in (palette.UP, palette.DOWN, palette.STAY) and present
                  else ""),
             Cell(fmt.money(row.revenue, currency))] for key, row in totals.iterrows()]
    section.tables.append(Table(["move", "customers", "% of those present at both dates", f"revenue {start} → {end}"],
                                rows, f"{start} → {end}", numeric=(1, 2, 3)))
    section.legend = palette.legend(palette.UP, palette.DOWN, palette.STAY)
    section.notes.append("Each cell: % of the row, customers, their revenue over the period. Rows: where customers "
                         "were; columns: where they are.")
    return section


def trajectories(ws: Workspace, segmentation: str, last: int = 6, top: int = 12) -> Section:
    section = Section(f"{segmentation}: trajectories", anchor=f"trajectories-{segmentation}")
    if len(ws.periods(segmentation)) < 2:
        section.notes.append("Trajectories need two snapshots.")
        return section
    paths = ws.trajectories(segmentation, last=last)
    info = views.segments(ws, segmentation)
    section.figures.append(charts.trajectory_sankey(views.flows(paths, info), segmentation))
    section.legend = palette.legend(palette.UP, palette.DOWN, palette.STAY, palette.NEW, palette.LOST) + [
        (s.colour, s.label) for s in info.values()]
    changed, steady = views.changed_paths(paths, top)
    total = max(paths.customers, 1)
    section.tables.append(Table(
        ["path (repeats merged)", "customers", "% of customers"],
        [[Cell(p), Cell(fmt.count(n)), Cell(fmt.percent(n / total))] for p, n in changed.itertuples(index=False)],
        f"the most frequent paths that changed over {last} periods; {fmt.count(steady)} customers "
        f"({fmt.percent(steady / total)}) kept one segment throughout", numeric=(1, 2)))
    return section


def markov(ws: Workspace, segmentation: str, steps: int = 6) -> Section:
    """Where the mix is heading (new customers included, with a 90% interval), and how a forecast
    made ``steps`` periods back fared."""
    section = Section(f"{segmentation}: forecast", anchor=f"forecast-{segmentation}")
    if len(ws.periods(segmentation)) < 2:
        section.notes.append("A forecast needs two snapshots.")
        return section
    info = views.segments(ws, segmentation)
    bands = ws.markov_interval(segmentation, steps).query("periods_ahead == @steps")
    section.tables.append(Table(
        ["segment", "forecast", "90% interval"],
        [[named(info, b.state), Cell(fmt.percent(b.median)), Cell(f"{fmt.percent(b.low)} – {fmt.percent(b.high)}")]
         for b in bands.itertuples()],
        f"segment mix in {steps} periods, new customers arriving as on average (Dirichlet draws of the transitions)",
        numeric=(1, 2),
    ))
    if len(ws.periods(segmentation)) >= steps + 2:
        test = ws.markov_backtest(segmentation, steps)
        section.tables.append(Table(
            ["segment", "forecast", "actual", "error (points)", "without new customers"],
            [[named(info, s), Cell(fmt.percent(r.forecast)), Cell(fmt.percent(r.actual)), Cell(fmt.points(r.error)),
              Cell(fmt.percent(r.closed))] for s, r in test.table.iterrows()],
            f"backtest: forecast from {test.origin} for {test.target}; mean absolute error "
            f"{test.mean_absolute_error * 100:.1f} points ({test.closed_mean_absolute_error * 100:.1f} without inflow)",
            numeric=(1, 2, 3, 4),
        ))
    else:
        section.notes.append(f"A backtest needs {steps + 2} snapshots.")
    return section


def quality(ws: Workspace, segmentation: str, as_of: date | None = None) -> Section:
    """Homogeneity and separation per segment and feature (the standard-deviation test of segment quality)."""
    periods = ws.periods(segmentation)
    when = as_of or (periods[-1] if periods else date.today())
    report = ws.quality(segmentation, when, bootstraps=0)
    section = Section(f"{segmentation}: homogeneity and separation at {when}", anchor=f"quality-{segmentation}")
    info = views.segments(ws, segmentation)
    features = list(report.homogeneity.columns)
    section.tables.append(Table(
        ["segment", *features],
        [[named(info, segment), *(Cell(f"{fmt.number(report.homogeneity.at[segment, f], 2)} / "
                                       f"{fmt.number(report.separation.at[segment, f], 2)}") for f in features)]
         for segment in report.homogeneity.index],
        "per feature: homogeneity (std inside / std of the base, below 1 = tighter) / separation "
        "(|mean - others' mean| / std of the base, higher = more distinct)",
        numeric=tuple(range(1, len(features) + 1)),
    ))
    section.notes.extend(report.warnings)
    return section


def portraits(ws: Workspace, segmentation: str, as_of: date | None = None) -> Section:
    """Segment portraits at ``as_of`` (default: the latest snapshot, or today)."""
    periods = ws.periods(segmentation)
    when = as_of or (periods[-1] if periods else date.today())
    found = ws.portraits(segmentation, when)
    return portrait_section(ws, found, f"{segmentation}: segment portraits at {when}", f"portraits-{segmentation}")


def human_label(description: str) -> str:
    """A catalog description as a short label: 'Age in whole years at D (null if ...)' -> 'Age in whole years'."""
    label = description.split(" (")[0].split(", e.g.")[0].split(": ")[0]
    return label.removesuffix(" at D").removesuffix(", ever").strip()


def feature_names(ws: Workspace) -> dict[str, str]:
    """Feature name -> a short human label (its catalog description up to the first bracket)."""
    from segmento.features.known import catalog

    return {f.name: human_label(f.description) for f in catalog(ws.project)}


def portrait_section(ws: Workspace, found: list[Portrait], title: str, anchor: str) -> Section:
    section = Section(title, anchor=anchor)
    section.figures.append(charts.portrait_shares(found, "customers and revenue per segment"))
    section.figures.append(charts.portrait_indexes(found, feature_names(ws), "what sets them apart (index, base = 100)"))
    extra = [key for key in ("next_best_action", "homogeneity", "separation") if any(hasattr(p, key) for p in found)]
    rows = []
    for p in found:
        row = [Cell(p.label, tip=p.segment_id), Cell(fmt.count(p.size)), Cell(fmt.percent(p.share)),
               Cell(fmt.percent(p.revenue_share)), Cell(p.preferred_channel or fmt.MISSING)]
        row += [Cell(_shown(getattr(p, key, None))) for key in extra]
        rows.append([*row, Cell(p.description)])
    section.tables.append(Table(
        ["segment", "customers", "% of base", "% of revenue", "channel", *[k.replace("_", " ") for k in extra],
         "portrait"], rows, numeric=(1, 2, 3)))
    section.notes.append("Index: the segment's mean over the base's mean × 100 (100 = like the base; n/a = no value).")
    if any(p.size == 0 for p in found):
        section.warnings.append("Empty segments: " + ", ".join(p.label for p in found if p.size == 0) + ".")
    return section


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return fmt.number(value, 2)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return fmt.MISSING if value is None else str(value)
