"""The headline page: what an analyst reads first, on the dashboard's overview and at the top
of the report. Base, active customers, revenue, the month's mix changes, alerts by kind with
the value at stake, the date the data is as of, each source's freshness, and warnings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import ibis
import pandas as pd
from ibis import _

from segmento import formatting as fmt
from segmento.dynamics.alerts import alerts_table
from segmento.dynamics.store import periods_table
from segmento.report import palette, views
from segmento.report.sections import Cell, Section, Table, Tile, incomplete_until
from segmento.workspace import Workspace

SOURCES = {"customers": "signup_date", "orders": "ordered_at", "events": "occurred_at", "consents": "recorded_at"}
STALE_DAYS = 7


def data_as_of(ws: Workspace) -> date | None:
    """The latest snapshot's period end: the date every segment figure is as of (from the list of periods
    taken, not the membership rows: every page's header asks)."""
    return periods_table(ws.con).period.max().to_pyarrow().as_py()


@dataclass(frozen=True)
class Stamp:
    """What every page and the report say first: the date the data is as of, and how fresh each source is."""

    as_of: str
    sources: tuple[tuple[str, str, bool], ...]  # (source, 'up to date' | 'n days behind', stale)


def stamp(ws: Workspace, fallback: date | None = None) -> Stamp:
    """The data's date (the latest snapshot; else ``fallback``; else the latest order) and each source's freshness."""
    as_of = data_as_of(ws) or fallback or _latest_order(ws)
    return Stamp(fmt.day(as_of), tuple((f["source"], _behind(f["behind_days"]), _stale(f["behind_days"]))
                                       for f in freshness(ws, as_of)))


def _latest_order(ws: Workspace) -> date:
    return (ws.table("orders").ordered_at.max().to_pyarrow().as_py() or datetime.now()).date()


def _behind(days: int | None) -> str:
    return fmt.MISSING if days is None else "up to date" if days <= 1 else f"{days:,} days behind"


def _stale(days: int | None) -> bool:
    return days is not None and days > STALE_DAYS


def _end(day: date) -> ibis.Scalar:
    return ibis.timestamp(f"{day.isoformat()} 23:59:59.999999")


def freshness(ws: Workspace, as_of: date) -> list[dict]:
    """Per source: rows, latest record, last load and how far the latest record is behind ``as_of``."""
    loads: dict[str, datetime] = {}
    if "ingestions" in ws.con.list_tables():
        got = ws.con.table("ingestions").group_by("table_name").agg(at=_.started_at.max()).to_pyarrow().to_pylist()
        loads = {row["table_name"]: row["at"] for row in got}
    found = []
    for name, column in SOURCES.items():
        table = ws.table(name)
        row = table.aggregate(rows=_.count(), latest=table[column].max()).to_pyarrow().to_pylist()[0]
        latest = row["latest"]
        day = latest.date() if isinstance(latest, datetime) else latest
        found.append({"source": name, "rows": row["rows"], "latest": latest, "loaded": loads.get(name),
                      "behind_days": (as_of - day).days if day is not None else None})
    return found


def headline_section(ws: Workspace, as_of: date | None = None) -> Section:
    """The headline section as of ``as_of`` (default: the latest snapshot; else the latest order)."""
    currency = views.currency(ws)
    orders = ws.table("orders")
    as_of = as_of or data_as_of(ws) or _latest_order(ws)
    section = Section(f"Headline as of {fmt.day(as_of)}", anchor="headline")
    customers = ws.table("customers")
    base = int(customers.filter(customers.signup_date <= as_of).count().execute())
    month_start = as_of.replace(day=1)
    last_year = month_start.replace(year=month_start.year - 1)
    at, since = orders.ordered_at, lambda day: ibis.timestamp(f"{day.isoformat()} 00:00:00")
    in_year = (at > _end(as_of - timedelta(days=365))) & (at <= _end(as_of))
    figures = orders.aggregate(
        active=orders.customer_id.nunique(where=in_year),
        year=orders.amount.sum(where=in_year),
        month=orders.amount.sum(where=(at >= since(month_start)) & (at <= _end(as_of))),
        then=orders.amount.sum(where=(at >= since(last_year)) & (at <= _end(as_of.replace(year=as_of.year - 1)))),
    ).to_pyarrow().to_pylist()[0]
    active, month, then = int(figures["active"] or 0), float(figures["month"] or 0), float(figures["then"] or 0)
    change = f"{(month / then - 1):+.1%} on a year before" if then else "no revenue a year before"
    section.tiles = [
        Tile("customers in the base", fmt.count(base), f"signed up by {fmt.day(as_of)}"),
        Tile("active customers", fmt.count(active), f"{fmt.percent(active / max(base, 1))} ordered in the last 12 months"),
        Tile(f"revenue in {as_of:%B %Y}", fmt.money(month, currency), change),
        Tile("revenue, last 12 months", fmt.money(figures["year"] or 0, currency)),
    ]
    section.tiles += _alert_tiles(ws, currency)
    infos = {name: views.segments(ws, name) for name in views.fitted_segmentations(ws)}
    mixes = {name: views.segment_mix(ws, name, info) for name, info in infos.items()}
    section.tables.append(_mix_changes(infos, mixes))
    fresh = freshness(ws, as_of)
    section.tables.append(_freshness_table(fresh, as_of))
    section.warnings += _warnings(ws, infos, mixes, fresh)
    return section


def _alert_tiles(ws: Workspace, currency: str) -> list[Tile]:
    table = alerts_table(ws.con)
    latest = table.period.max().to_pyarrow().as_py()
    if latest is None:
        return []
    rows = table.filter(table.period == latest).group_by("kind").agg(n=_.count(), value=_.priority.sum())
    return [Tile(f"{row['kind'].replace('_', ' ')} alerts in {fmt.day(latest)}", fmt.count(row["n"]),
                 f"{fmt.money(row['value'], currency)} at stake")
            for row in rows.order_by("kind").to_pyarrow().to_pylist()]


def _mix_changes(infos: dict[str, dict[str, views.SegmentInfo]], mixes: dict[str, pd.DataFrame]) -> Table:
    """Per segmentation, the segments whose share moved most between the last two periods."""
    rows, caption = [], ""
    for name, mix in mixes.items():
        if len(mix) < 2:
            continue
        info = infos[name]
        shares = mix.div(mix.sum(axis=1).replace(0, 1), axis=0)
        delta = (shares.iloc[-1] - shares.iloc[-2]).sort_values(key=abs, ascending=False)
        for segment, moved in delta.head(3).items():
            rows.append([Cell(name), Cell(info[segment].label, tip=segment, colour=info[segment].colour),
                         Cell(fmt.percent(shares.iloc[-2][segment])), Cell(fmt.percent(shares.iloc[-1][segment])),
                         Cell(fmt.points(moved)), Cell(fmt.count(mix.iloc[-1][segment]))])
        caption = f"{mix.index[-2]} → {mix.index[-1]}"
    return Table(["segmentation", "segment", "share before", "share now", "change", "customers now"], rows,
                 f"the month's largest mix changes ({caption})" if rows else "mix changes need two snapshots",
                 numeric=(2, 3, 4, 5))


def _freshness_table(fresh: list[dict], as_of: date) -> Table:
    rows = []
    for f in fresh:
        behind = f["behind_days"]
        rows.append([Cell(f["source"]), Cell(fmt.count(f["rows"])), Cell(fmt.day(f["latest"])),
                     Cell(fmt.day(f["loaded"].replace(microsecond=0)) if f["loaded"] else fmt.MISSING),
                     Cell(_behind(behind), colour=palette.MOVES[palette.DOWN] if _stale(behind) else "")])
    return Table(["source", "rows", "latest record", "last loaded", f"freshness at {fmt.day(as_of)}"], rows,
                 "how fresh each source is", numeric=(1,))


def _warnings(ws: Workspace, infos: dict[str, dict[str, views.SegmentInfo]], mixes: dict[str, pd.DataFrame],
              fresh: list[dict]) -> list[str]:
    found = []
    full = incomplete_until(ws)
    if full is not None:
        first = min((mix.index[0] for mix in mixes.values() if not mix.empty), default=None)
        if first is not None and first < full.isoformat():
            found.append(f"Incomplete windows: snapshots before {full} read less than 12 months of history; "
                         "their 12-month figures (value tiers, spend) are understated.")
    for name, mix in mixes.items():
        if mix.empty:
            continue
        info = infos[name]
        empty = [info[s].label for s in info if s not in mix.columns or mix.iloc[-1][s] == 0]
        if empty:
            found.append(f"Empty segments in {name} at {mix.index[-1]}: {', '.join(empty)}.")
    for f in fresh:
        if _stale(f["behind_days"]):
            found.append(f"{f['source']}: the latest record is {f['behind_days']:,} days behind the data date.")
    return found
