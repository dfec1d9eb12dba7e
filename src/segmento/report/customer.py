"""One customer for people: what the 360 page shows beside the service's read model.

Features grouped by their catalog axis with human labels and values formatted by unit,
one history chart per segmentation, audiences with since-when, the customer's alerts,
a timeline of orders and events. Point queries: a few ms each on the demo base (the timeline's
through the engine's customer_id lookup index on orders and events).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import ibis

from segmento import formatting as fmt
from segmento.audiences.tables import ENTER
from segmento.dynamics.alerts import alerts_table
from segmento.report import charts_activity, palette, views
from segmento.report.sections import Cell, Section, Table, human_label, named
from segmento.workspace import Workspace

AXES = ("profile", "purchase", "product", "channel", "promo", "contactability", "interests", "social")
TIMELINE_ROWS = 500


def feature_groups(ws: Workspace, features: dict[str, Any] | None, currency: str) -> list[tuple[str, list[Cell]]]:
    """[(axis, [Cell(label, tip=name, cls=formatted value)])] in catalog order; features not in the
    catalog (e.g. predictive traits) under their own axis or 'other'."""
    from segmento.features.known import catalog

    if not features:
        return []
    known = {f.name: f for f in catalog(ws.project)}
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for name, value in features.items():
        spec = known.get(name)
        axis = spec.axis if spec else "other"
        label = human_label(spec.description) if spec else name.replace("_", " ")
        unit = spec.unit if spec else ("share" if name.startswith(("p_", "share_")) else "")
        if name.startswith("share_cat_") and not spec:
            axis, label, unit = "product", f"Share of spend on {name[10:].replace('_', ' ')}", "share"
        tip = f"{name}: {spec.description}" if spec else name
        groups.setdefault(axis, []).append((label, fmt.value(value, unit, currency), tip))
    order = [a for a in AXES if a in groups] + sorted(a for a in groups if a not in AXES)
    return [(axis, [Cell(label, tip=name, cls=text) for label, text, name in groups[axis]]) for axis in order]


def identity(attributes: dict[str, Any]) -> list[tuple[str, str]]:
    """The customer's own fields for people: 'birth date', dates as dates, yes/no, and free-form
    traits (a JSON object) spelled out as 'loyalty card: no; preferred store: Orléans'."""
    shown = []
    for name, value in attributes.items():
        if name == "customer_id":
            continue
        if isinstance(value, str) and value.startswith("{"):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        if isinstance(value, dict):
            text = "; ".join(f"{k.replace('_', ' ')}: {_plain(v)}" for k, v in value.items()) or fmt.MISSING
        else:
            text = _plain(value)
        shown.append((name.replace("_", " "), text))
    return shown


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (date, datetime)):
        return fmt.day(value)
    return fmt.MISSING if value is None or value == "" else str(value)


def history_sections(history: dict[str, list[dict[str, Any]]],
                     infos: dict[str, dict[str, views.SegmentInfo]]) -> Section:
    """One small chart per segmentation, each on its own scale of segment labels."""
    section = Section("Segments over time", anchor="history")
    for name, path in history.items():
        if path:
            section.figures.append(charts_activity.customer_history(name, path, infos.get(name, {})))
    if not section.figures:
        section.notes.append("Not in any snapshot yet.")
    return section


def since_when(ws: Workspace, customer_id: str) -> dict[str, datetime]:
    """Audience -> when the customer's current membership began: the time of the audience's last change
    when it is an entry. The customer's changes are read alone (the membership view pairs every
    customer's entries and exits first: three times slower on the demo base)."""
    changes = ws.table("audience_changes")
    mine = changes.filter(changes.customer_id == customer_id).select("audience", "kind", "at", "seq")
    last = {row["audience"]: row for row in mine.to_pyarrow().sort_by("seq").to_pylist()}
    return {audience: row["at"] for audience, row in last.items() if row["kind"] == ENTER}


def customer_alerts(ws: Workspace, customer_id: str, currency: str,
                    infos: dict[str, dict[str, views.SegmentInfo]]) -> Table:
    table = alerts_table(ws.con)
    rows = table.filter(table.customer_id == customer_id).order_by([ibis.desc("period"), "rule"])
    found = rows.to_pyarrow().to_pylist()
    reason = "reason" in table.columns
    out = []
    for r in found:
        info = infos.get(r["segmentation"], {})
        out.append([Cell(fmt.day(r["period"])), Cell(r["rule"]), Cell(r["kind"], colour=palette.KINDS.get(r["kind"], "")),
                    Cell(f"{named(info, r['from_segment']).text} → {named(info, r['to_segment']).text}",
                         tip=f"{r['segmentation']}: {r['from_segment']} → {r['to_segment']}"),
                    *([Cell(r.get("reason") or "")] if reason else []),
                    Cell(r["journey"] or ""), Cell(fmt.money(r["priority"], currency))])
    columns = ["period", "rule", "kind", "move", *(["reason"] if reason else []), "journey", "value at stake"]
    return Table(columns, out, "latest first" if out else "no alert for this customer", numeric=(len(columns) - 1,))


def timeline(ws: Workspace, customer_id: str, currency: str, until: datetime | None = None) -> Section:
    """Orders and events of the customer up to ``until``: a chart, and the latest ones in a table."""
    section = Section("Orders and events", anchor="timeline")
    orders = ws.table("orders")
    orders = orders.filter(orders.customer_id == customer_id)
    events = ws.table("events")
    events = events.filter(events.customer_id == customer_id)
    if until is not None:
        orders = orders.filter(orders.ordered_at <= until)
        events = events.filter(events.occurred_at <= until)
    got_orders = _latest(orders.select("order_id", "ordered_at", "amount", "channel"), "ordered_at")
    got_events = _latest(events.select("occurred_at", "type", "channel", "category"), "occurred_at")
    if not got_orders and not got_events:
        section.notes.append("No order or event recorded.")
        return section
    section.figures.append(charts_activity.customer_timeline(got_orders, got_events, currency))
    latest = sorted([(o["ordered_at"], "order", f"{o['order_id']} on {o['channel']}", fmt.money(o["amount"], currency, 2))
                     for o in got_orders] +
                    [(e["occurred_at"], e["type"], f"{e['channel']}{' · ' + e['category'] if e['category'] else ''}", "")
                     for e in got_events], key=lambda row: row[0], reverse=True)[:15]
    section.tables.append(Table(["when", "what", "detail", "amount"],
                                [[Cell(fmt.day(w)), Cell(k.replace("_", " ")), Cell(d), Cell(a)] for w, k, d, a in latest],
                                f"latest 15 of {fmt.count(len(got_orders))} orders and {fmt.count(len(got_events))} "
                                "events", numeric=(3,)))
    return section


def _latest(rows: ibis.Table, stamp: str) -> list[dict[str, Any]]:
    """The customer's latest TIMELINE_ROWS rows. The engine is asked for the filter alone, which it answers
    from its customer_id index (a top-N on top would make DuckDB scan the whole table); a customer's rows
    are few, so they are sorted here."""
    found = rows.to_pyarrow()
    return found.sort_by([(stamp, "descending")]).slice(0, TIMELINE_ROWS).to_pylist()
