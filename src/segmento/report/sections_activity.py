"""Sections on audiences and alerts, shared by the dashboard and the report."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

import ibis
import pandas as pd
from ibis import _

from segmento import formatting as fmt
from segmento.dynamics.alerts import alerts_table
from segmento.report import charts_activity, palette, views
from segmento.report.sections import Cell, Section, Table, Tile, named
from segmento.workspace import Workspace


def audience_history(ws: Workspace) -> pd.DataFrame:
    """Per audience and month: entries, exits and members at the month's end (from the change log)."""
    changes = ws.con.table("audience_changes")
    month = changes.at.truncate("M").cast("date")
    counted = changes.group_by(["audience", month.name("month")]).agg(
        entries=(_.kind == "enter").sum(), exits=(_.kind == "exit").sum()).to_pandas()
    if counted.empty:
        return pd.DataFrame(columns=["audience", "period", "entries", "exits", "members"])
    counted = counted.sort_values(["audience", "month"])
    counted["members"] = (counted.entries - counted.exits).groupby(counted.audience).cumsum()
    counted["period"] = [m.strftime("%Y-%m") for m in pd.to_datetime(counted.month)]
    return counted[["audience", "period", "entries", "exits", "members"]].astype(
        {"entries": "int64", "exits": "int64", "members": "int64"})


def audiences(ws: Workspace) -> Section:
    section = Section("Audiences", anchor="audiences", tables_first=True)
    definitions = {a.name: a for a in ws.audiences.list()}
    guidance = views.recorded_guidance(ws)
    if not guidance.sizes:
        section.notes.append("No audience defined: declare some under `audiences:` in segmento.yaml.")
        return section
    history = audience_history(ws)
    section.warnings.extend(str(w) for w in guidance.warnings)
    base = max(guidance.base, 1)
    section.tiles = [Tile("customers in the base", fmt.count(guidance.base)),
                     Tile("audiences", fmt.count(len(guidance.sizes)),
                          f"{len(guidance.warnings)} warning{'' if len(guidance.warnings) == 1 else 's'}")]
    last = history.groupby("audience").tail(1).set_index("audience") if not history.empty else pd.DataFrame()
    rows = []
    for name, size in guidance.sizes.items():
        a = definitions.get(name)
        moves = last.loc[name] if name in last.index else None
        rows.append([Cell(name), Cell(a.rule if a else "", cls="rule"), Cell(fmt.count(size)),
                     Cell(fmt.percent(size / base)),
                     Cell(f"+{fmt.count(moves.entries)} / −{fmt.count(moves.exits)} ({moves.period})"
                          if moves is not None else fmt.MISSING),
                     Cell(a.description if a else "")])
    section.tables.append(Table(["audience", "rule", "members", "% of base", "entries / exits, last month",
                                 "description"], rows, numeric=(2, 3)))
    section.figures.append(charts_activity.audience_sizes(guidance.sizes, guidance.base))
    if history.period.nunique() > 1:
        section.figures.append(charts_activity.audience_trend(history))
        first = history.period.min()  # the first refresh enters everyone: it would dwarf the months after
        section.figures.append(charts_activity.audience_moves(history[history.period != first]))
        section.notes.append(f"Entries and exits from the month after the first refresh ({first}).")
        section.legend = [(palette.MOVES[palette.UP], "entries"), (palette.MOVES[palette.DOWN], "exits")]
    else:
        section.notes.append("One refresh recorded so far: sizes over time and entries/exits per period appear "
                             "after the next `segmento refresh`.")
    section.figures.append(charts_activity.audience_overlaps(guidance.overlaps))
    return section


def alert_rows(ws: Workspace, period: date | None = None, kind: str | None = None, rule: str | None = None,
               min_priority: float | None = None) -> ibis.Table:
    """Stored alerts filtered as asked, latest period first, highest value at stake first within it."""
    table = alerts_table(ws.con)
    for column, wanted in (("period", period), ("kind", kind), ("rule", rule)):
        if wanted is not None:
            table = table.filter(table[column] == wanted)
    if min_priority is not None:
        table = table.filter(table.priority >= min_priority)
    return table.order_by([ibis.desc("period"), ibis.desc("priority"), "alert_id"])


def alerts(ws: Workspace, limit: int = 25, customer_link: str | None = None, **filters: Any) -> Section:
    """Alerts latest first with their totals (of everything matched, not only the rows shown)."""
    section = Section("Trajectory alerts", anchor="alerts")
    counts = views.alert_counts(ws)
    if counts.empty:
        section.notes.append("No alert raised: declare trajectory rules under `dynamics.rules`.")
        return section
    currency = views.currency(ws)
    matched = alert_rows(ws, **filters)
    totals = matched.group_by("kind").agg(alerts=_.count(), value=_.priority.sum()).to_pandas()
    total = int(totals.alerts.sum()) if not totals.empty else 0
    section.tiles = [Tile("alerts matched", fmt.count(total), "all periods" if not filters.get("period")
                          else f"period {filters['period']}")]
    section.tiles += [Tile(f"{row.kind} alerts", fmt.count(row.alerts), f"{fmt.money(row.value, currency)} at stake")
                      for row in totals.sort_values("kind").itertuples()]
    section.figures.append(charts_activity.alert_counts(counts, currency))
    section.legend = [(palette.KINDS[k], f"{k.replace('_', ' ')} alerts") for k in ("negative", "positive")]
    rows = matched.limit(limit).to_pyarrow().to_pylist()
    infos = {name: views.segments(ws, name) for name in {r["segmentation"] for r in rows}}
    reason = "reason" in matched.columns
    table_rows = []
    for r in rows:
        info = infos[r["segmentation"]]
        move = f"{named(info, r['from_segment']).text} → {named(info, r['to_segment']).text}"
        link = customer_link.format(quote(r["customer_id"])) if customer_link else ""
        table_rows.append([
            Cell(fmt.day(r["period"])), Cell(r["customer_id"], href=link), Cell(r["rule"]),
            Cell(move, tip=f"{r['from_segment']} → {r['to_segment']}"),
            Cell(r["kind"], colour=palette.KINDS.get(r["kind"], "")),
            *([Cell(r.get("reason") or "")] if reason else []),
            Cell(r["journey"] or ""), Cell(fmt.money(r["priority"], currency)),
        ])
    columns = ["period", "customer", "rule", "move", "kind", *(["reason"] if reason else []), "journey",
               "value at stake"]
    section.tables.append(Table(columns, table_rows,
                                f"latest period first, then highest value at stake; {fmt.count(len(rows))} of "
                                f"{fmt.count(total)} shown", numeric=(len(columns) - 1,)))
    return section
