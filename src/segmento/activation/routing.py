"""Routing: which trajectory alerts and audience changes go to which destinations, for which journey.

Each routed record becomes one outbox message per destination. The payload is built
here, once, so what a receiver gets does not depend on when it is sent: the customer's
segments as of the change, the trajectory or the audience change, the priority (value
at stake), the journey, and what the journey needs (profile columns, fixed params).

Producers call ``enqueue_alerts`` / ``enqueue_audience_changes`` inside the transaction
that stores the records (pass the new rows, materialised, before inserting them when the
expression would no longer see them afterwards); calling them later is also safe: records
already queued for a destination are skipped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.activation.campaign_settings import CampaignDefinition
from segmento.activation.holdout import campaign_key, declared_campaigns, journey_split
from segmento.activation.outbox import enqueue, existing_ids, message_id, new_message, to_json
from segmento.activation.settings import DestinationBase, Route
from segmento.dynamics.freshness import data_extent
from segmento.dynamics.store import labelled, periods_table, stored, visible_from
from segmento.settings import ConfigError
from segmento.store import registry
from segmento.store.backend import staged
from segmento.store.schema import CUSTOMERS
from segmento.store.tables import beside, table

if TYPE_CHECKING:
    from segmento.config import Project

ALERT, CHANGE, EXPORT = "alert", "audience_change", "export"
ALERTS = registry.ALERTS.name
CHANGES = registry.AUDIENCE_CHANGES.name
PROFILE_COLUMNS = tuple(c for c in CUSTOMERS.column_names if c != "customer_id")


def check_activation(project: Project) -> None:
    """Cross-references the models cannot check alone: destination names, profile columns."""
    names = [d.name for d in project.destinations]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"{project.where('destinations')}: destination names must be unique; repeated: {', '.join(repeated)}")
    declared = ", ".join(names) or "none declared"
    ids = [c.id for c in project.campaigns]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ConfigError(f"{project.where('campaigns')}: campaign ids must be unique; repeated: {', '.join(repeated)}")
    for index, campaign in enumerate(project.campaigns):
        if campaign.to not in names:
            raise ConfigError(f"{project.where('campaigns', index, 'to')}: unknown destination {campaign.to!r}; "
                              f"declared: {declared}")
    for section, items in (("routes", project.routes), ("exports", project.exports)):
        for index, item in enumerate(items):
            for j, name in enumerate(item.to if isinstance(item.to, list) else [item.to]):
                if name not in names:
                    raise ConfigError(f"{project.where(section, index, 'to', j)}: unknown destination {name!r}; declared: {declared}")
            wrong = [c for c in item.profile if c not in PROFILE_COLUMNS]
            if wrong:
                raise ConfigError(
                    f"{project.where(section, index, 'profile')}: unknown customer column(s) {', '.join(wrong)}; "
                    f"valid: {', '.join(PROFILE_COLUMNS)}"
                )


def destination(project: Project, name: str) -> DestinationBase:
    """The declared destination called ``name`` (error listing the declared ones)."""
    for config in project.destinations:
        if config.name == name:
            return config
    declared = ", ".join(d.name for d in project.destinations) or "none declared"
    raise ConfigError(f"{project.where('destinations')}: no destination named {name!r}; declared: {declared}")


def enqueue_alerts(
    con: BaseBackend, project: Project, alerts: ibis.Table | pa.Table | None = None,
    period: date | None = None, now: datetime | None = None,
) -> int:
    """Queue trajectory alerts for the routes that take them; returns new messages.

    ``alerts`` defaults to the stored alerts of ``period`` (the latest period when omitted).
    A route skips alerts older than its ``max_alert_age``, counted in days from the
    period end to the newest loaded order or event (the base's present).
    """
    check_activation(project)
    if alerts is None:
        alerts = table(con, ALERTS)
        period = period or alerts.period.max().execute()
        alerts = alerts.filter(alerts.period == period)
    journeys = campaign_journeys(con, project)
    if not journeys and all(route.alerts is None for route in project.routes):
        return 0  # nothing takes alerts: no need to find the base's present
    newest = data_extent(con).last_data
    selections = [(route, lambda rows, route=route, c=c: _within(_alerts_of(rows, route, newest), c))
                  for route, c in journeys.values()]
    for route in project.routes:
        if route.alerts is None:
            continue
        selections.append((route, lambda rows, route=route: _alerts_of(rows, route, newest)))
    holdout = None
    if journeys or any(route.campaign for route in project.routes):
        key, declared = campaign_key(con, project), declared_campaigns(con, project)
        holdout = lambda route, records, ids: _journey_split(con, project, declared, route.campaign, key, records, ids)
    return _queue(con, alerts, ALERT, "alert_id", selections, _alert_part, now, holdout)


def campaign_journeys(con: BaseBackend, project: Project) -> dict[str, tuple[Route, CampaignDefinition]]:
    """A route for each campaign targeting a trajectory alert rule: its alerts go to the campaign's
    destination, control group held out (these routes come before the declared ones)."""
    found = {}
    for campaign in declared_campaigns(con, project).values():
        if campaign.alert is not None:
            name = f"campaign-{campaign.id}"
            found[name] = (Route(name=name, alerts=[campaign.alert], to=[campaign.to], campaign=campaign.id,
                                 journey=campaign.journey or campaign.id), campaign)
    return found


def _within(rows: ibis.Table, campaign: CampaignDefinition) -> ibis.Table:
    rows = rows.filter(rows.period >= campaign.start)
    return rows if campaign.end is None else rows.filter(rows.period <= campaign.end)


def _journey_split(con: BaseBackend, project: Project, declared: dict[str, CampaignDefinition], campaign_id: str,
                   key: str, records: dict[str, tuple[str, datetime]], ids: dict[str, str]) -> tuple[set[str], set[str]]:
    if campaign_id not in declared:
        raise ConfigError(f"{project.where('routes')}: no campaign named {campaign_id!r}; "
                          f"declared: {', '.join(declared) or 'none'}")
    campaign = declared[campaign_id]
    config = destination(project, campaign.to)
    return journey_split(con, campaign, key, campaign.channel or config.channel, config.purpose, records, ids)


def enqueue_audience_changes(
    con: BaseBackend, project: Project, changes: ibis.Table | pa.Table | None = None, now: datetime | None = None
) -> int:
    """Queue audience enter/exit changes for the routes that take them; returns new messages.

    ``changes`` has columns change_id, customer_id, audience, kind ('enter' or 'exit'),
    at (timestamp) and reason; it defaults to the ``audience_changes`` table.
    """
    check_activation(project)
    if changes is None:
        changes = table(con, CHANGES)
    selections = []
    for route in project.routes:
        if route.audiences is None:
            continue
        selections.append((route, lambda rows, route=route: _changes_of(rows, route)))
    return _queue(con, changes, CHANGE, "change_id", selections, _change_part, now, None)


def _alerts_of(rows: ibis.Table, route: Route, newest: date | None) -> ibis.Table:
    if route.max_alert_age is not None and newest is not None:  # history is not news
        rows = rows.filter(rows.period >= newest - timedelta(days=route.max_alert_age))
    if route.alerts != "*":
        rows = rows.filter(rows.rule.isin(route.alerts))
    if route.kinds:
        rows = rows.filter(rows.kind.isin(route.kinds))
    if route.min_priority:
        rows = rows.filter(rows.priority >= route.min_priority)
    return rows


def _changes_of(rows: ibis.Table, route: Route) -> ibis.Table:
    if route.audiences != "*":
        rows = rows.filter(rows.audience.isin(route.audiences))
    return rows.filter(rows.kind.isin(route.changes))


@dataclass(frozen=True)
class Part:
    """What one source record adds to its messages."""

    topic: str  # file folder and status grouping
    priority: float
    at: datetime  # the customer's segments are read as of this instant
    body: dict[str, Any]


def _alert_part(row: dict[str, Any]) -> Part:
    period: date = row["period"]
    body = {
        "occurred_at": period,
        "priority": row["priority"],
        "trajectory": {
            "rule": row["rule"], "kind": row["kind"], "segmentation": row["segmentation"],
            "from": row["from_segment"], "to": row["to_segment"], "period": period,
        },
        "reason": row.get("reason"),
        "figures": json.loads(row["figures"]) if row.get("figures") else {},
    }
    # A snapshot at a period end holds everything up to that day's end: visible from the next day.
    return Part(f"alert-{row['kind']}", row["priority"] or 0.0, datetime.combine(period + timedelta(days=1), time()), body)


def _change_part(row: dict[str, Any]) -> Part:
    body = {
        "occurred_at": row["at"],
        "audience": {"name": row["audience"], "change": row["kind"], "reason": row.get("reason"), "why": row.get("why")},
    }
    return Part(f"audience-{row['audience']}", 0.0, row["at"], body)


def _queue(
    con: BaseBackend,
    records: ibis.Table | pa.Table,
    source: str,
    id_column: str,
    selections: list[tuple[Route, Callable[[ibis.Table], ibis.Table]]],
    describe: Callable[[dict[str, Any]], Part],
    now: datetime | None,
    holdout: Callable[[Route, dict[str, tuple[str, datetime]], dict[str, str]], tuple[set[str], set[str]]] | None,
) -> int:
    """Build one message per (record, destination) not queued yet; the first matching route wins.
    A campaign's route sends its treated targets only; its control group's records go nowhere."""
    if not selections:
        return 0
    with staged(con, records) if isinstance(records, pa.Table) else nullcontext(records) as table:
        taken: set[tuple[str, str]] = set()
        held: set[str] = set()
        messages: list[dict[str, Any]] = []
        for route, select in selections:
            rows = select(table)
            wanted: dict[str, tuple[dict[str, Any], list[str]]] = {}
            for destination in route.to:
                queued = beside(con, existing_ids(con, destination, source))
                fresh = rows.anti_join(queued, rows[id_column] == queued.source_id)
                for row in fresh.to_pyarrow().to_pylist():
                    key = row[id_column]
                    if (destination, key) not in taken and key not in held:
                        taken.add((destination, key))
                        wanted.setdefault(key, (row, []))[1].append(destination)
            if not wanted:
                continue
            parts = {key: describe(row) for key, (row, _) in wanted.items()}
            if route.campaign and holdout is not None:
                ids = {key: message_id(dests[0], source, key) for key, (_, dests) in wanted.items()}
                send, hold = holdout(route, {k: (row["customer_id"], parts[k].at) for k, (row, _) in wanted.items()}, ids)
                held |= hold
                wanted = {k: v for k, v in wanted.items() if k in send}
            segments, profiles = customer_context(
                con, [(key, row["customer_id"], parts[key].at) for key, (row, _) in wanted.items()], route.profile
            )
            for key, (row, destinations) in wanted.items():
                part = parts[key]
                body = to_json({
                    "type": source,
                    "route": route.name,
                    "journey": route.journey or row.get("journey") or route.name,
                    **({"campaign_id": route.campaign} if route.campaign else {}),
                    "customer_id": row["customer_id"],
                    **part.body,
                    "segments": segments.get(key, {}),
                    "profile": profiles.get(row["customer_id"], {}),
                    "params": route.params,
                })
                messages += [new_message(d, source, key, part.topic, row["customer_id"], part.priority, body)
                             for d in destinations]
        return enqueue(con, messages, now)


def _latest_segments(con: BaseBackend, asked: ibis.Table, records: pa.Table) -> list[dict[str, Any]]:
    """Each record's (key, customer_id, at: ``records``, staged as ``asked``) latest snapshot row visible
    at its instant, per segmentation.

    Read at the latest period visible at each instant first: one period of rows, however long the
    history. Only the records missing from it (a customer absent from that snapshot, e.g. new since)
    look further back."""
    snaps = stored(con)  # labels joined to the rows found only
    periods = periods_table(con)
    instants = asked.select("at").distinct()
    cut = instants.join(periods, visible_from(periods.period) <= instants.at)
    cut = cut.group_by(["at", "segmentation"]).agg(period=cut.period.max())
    fields = ["key", "segmentation", "segment_id", "segment_label", "period"]
    rows = asked.join(cut, "at").join(snaps, ["customer_id", "segmentation", "period"])
    rows = labelled(con, rows).select(*fields).to_pyarrow().to_pylist()
    per_instant = Counter(row["at"] for row in cut.select("at").to_pyarrow().to_pylist())
    found = Counter(row["key"] for row in rows)
    short = [r["key"] for r in records.select(["key", "at"]).to_pylist() if found[r["key"]] < per_instant[r["at"]]]
    if not short:
        return rows
    with staged(con, pa.table({"key": pa.array(short, pa.string())})) as missing:
        looked = asked.semi_join(missing, "key").join(snaps, "customer_id")
        looked = looked.filter(visible_from(looked.period) <= looked.at)
        latest = ibis.window(group_by=["key", "segmentation"], order_by=ibis.desc("period"))
        looked = looked.mutate(_n=ibis.row_number().over(latest))
        looked = looked.filter(looked._n == 0).drop("_n", "at")
        known = {(row["key"], row["segmentation"]) for row in rows}
        older = labelled(con, looked).select(*fields).to_pyarrow().to_pylist()
    return rows + [row for row in older if (row["key"], row["segmentation"]) not in known]


def customer_context(
    con: BaseBackend, keys: list[tuple[str, str, datetime]], profile: list[str]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Segments as of each record's instant (by record key) and profile columns (by customer).

    A snapshot at period end D is visible from D + 1 day 00:00: it summarises the whole of D.
    """
    segments: dict[str, dict[str, Any]] = {}
    profiles: dict[str, dict[str, Any]] = {}
    wanted = pa.table({
        "key": pa.array([k for k, _, _ in keys], pa.string()),
        "customer_id": pa.array([c for _, c, _ in keys], pa.string()),
        "at": pa.array([a for _, _, a in keys], pa.timestamp("us")),
    })
    with staged(con, wanted) as asked:
        for row in sorted(_latest_segments(con, asked, wanted), key=lambda row: row["segmentation"]):  # stable
            segments.setdefault(row["key"], {})[row["segmentation"]] = {
                "segment": row["segment_id"], "label": row["segment_label"], "as_of": row["period"],
            }
        if profile:
            customers = con.table("customers")
            found = customers.semi_join(asked, "customer_id").select("customer_id", *profile)
            for row in found.to_pyarrow().to_pylist():
                profiles[row.pop("customer_id")] = row
    return segments, profiles
