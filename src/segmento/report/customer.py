"""One customer for people: what the 360 page shows beside the service's read model.

Features grouped by their catalog axis with human labels and values formatted by unit,
one history chart per segmentation, audiences with since-when, the customer's alerts,
a timeline of orders and events. Point queries compiled once (``Lookups``), a few ms each on the
demo base (the timeline's through the engine's customer_id lookup index on orders and events).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import ibis
import pyarrow as pa

from segmento import formatting as fmt
from segmento.audiences.tables import ENTER
from segmento.dynamics.alerts import alerts_table
from segmento.report import charts_customer, palette, views
from segmento.report.sections import Cell, Section, Table, human_label, named
from segmento.store.engines import engine_of
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
            section.figures.append(charts_customer.customer_history(name, path, infos.get(name, {})))
    if not section.figures:
        section.notes.append("Not in any snapshot yet.")
    return section


class Lookups:
    """The page's reads of one customer (orders and events up to an instant, alerts, audience changes),
    each compiled once and then run through the engine's customer_id lookup: compiling an Ibis
    expression costs ~20 ms, ten times more than the indexed read itself on the demo base."""

    def __init__(self, ws: Workspace, until: datetime | None = None) -> None:
        self.until = until
        self.prepared: dict[str, object] = {}

    def rows(self, ws: Workspace, name: str, customer_id: str) -> pa.Table:
        prepared = self.prepared.get(name)
        if prepared is None:  # a table is only read once the page needs it (audiences may not be installed)
            prepared = self.prepared[name] = engine_of(ws.con).prepare_lookup(self._query(ws, name), "customer_id")
        return engine_of(ws.con).run_lookup(prepared, customer_id)

    def _query(self, ws: Workspace, name: str) -> ibis.Table:
        if name == "alerts":
            return alerts_table(ws.con)
        if name == "changes":
            return ws.table("audience_changes").select("customer_id", "audience", "kind", "at", "seq")
        table = ws.table(name)
        stamp, columns = {"orders": ("ordered_at", ("order_id", "amount", "channel")),
                          "events": ("occurred_at", ("type", "channel", "category"))}[name]
        if self.until is not None:
            table = table.filter(table[stamp] <= self.until)
        return table.select("customer_id", stamp, *columns)


def since_when(ws: Workspace, lookups: Lookups, customer_id: str) -> dict[str, datetime]:
    """Audience -> when the customer's current membership began: the time of the audience's last change
    when it is an entry. The customer's changes are read alone (the membership view pairs every
    customer's entries and exits first: three times slower on the demo base)."""
    mine = lookups.rows(ws, "changes", customer_id)
    last = {row["audience"]: row for row in mine.sort_by("seq").to_pylist()}
    return {audience: row["at"] for audience, row in last.items() if row["kind"] == ENTER}


def customer_alerts(ws: Workspace, lookups: Lookups, customer_id: str, currency: str,
                    infos: dict[str, dict[str, views.SegmentInfo]]) -> Table:
    found = lookups.rows(ws, "alerts", customer_id)
    reason = "reason" in found.column_names
    out = []
    for r in found.sort_by([("period", "descending"), ("rule", "ascending")]).to_pylist():
        info = infos.get(r["segmentation"], {})
        out.append([Cell(fmt.day(r["period"])), Cell(r["rule"]), Cell(r["kind"], colour=palette.KINDS.get(r["kind"], "")),
                    Cell(f"{named(info, r['from_segment']).text} → {named(info, r['to_segment']).text}",
                         tip=f"{r['segmentation']}: {r['from_segment']} → {r['to_segment']}"),
                    *([Cell(r.get("reason") or "")] if reason else []),
                    Cell(r["journey"] or ""), Cell(fmt.money(r["priority"], currency))])
    columns = ["period", "rule", "kind", "move", *(["reason"] if reason else []), "journey", "value at stake"]
    return Table(columns, out, "latest first" if out else "no alert for this customer", numeric=(len(columns) - 1,))


def timeline(ws: Workspace, lookups: Lookups, customer_id: str, currency: str) -> Section:
    """Orders and events of the customer up to the lookups' instant: a chart, and the latest ones in a table."""
    section = Section("Orders and events", anchor="timeline")
    got_orders = _latest(lookups.rows(ws, "orders", customer_id), "ordered_at")
    got_events = _latest(lookups.rows(ws, "events", customer_id), "occurred_at")
    if not got_orders and not got_events:
        section.notes.append("No order or event recorded.")
        return section
    section.figures.append(charts_customer.customer_timeline(got_orders, got_events, currency))
    latest = sorted([(o["ordered_at"], "order", f"{o['order_id']} on {o['channel']}", fmt.money(o["amount"], currency, 2))
                     for o in got_orders] +
                    [(e["occurred_at"], e["type"], f"{e['channel']}{' · ' + e['category'] if e['category'] else ''}", "")
                     for e in got_events], key=lambda row: row[0], reverse=True)[:15]
    section.tables.append(Table(["when", "what", "detail", "amount"],
                                [[Cell(fmt.day(w)), Cell(k.replace("_", " ")), Cell(d), Cell(a)] for w, k, d, a in latest],
                                f"latest 15 of {fmt.count(len(got_orders))} orders and {fmt.count(len(got_events))} "
                                "events", numeric=(3,)))
    return section


def _latest(found: pa.Table, stamp: str) -> list[dict[str, Any]]:
    """The customer's latest TIMELINE_ROWS rows (a customer's rows are few: sorted here, where a top-N in
    the query would make DuckDB scan the whole table instead of using its customer_id index)."""
    return found.sort_by([(stamp, "descending")]).slice(0, TIMELINE_ROWS).to_pylist()
