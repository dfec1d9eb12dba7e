"""Trajectory alerts: the moves a brand cares about, raised once per customer, rule and period.

An alert's id is made of (rule, period, customer), so re-running a period never raises
it twice; the activation stage delivers alerts by that id. Each alert carries its reason
(the figures that moved, before -> after). A period whose feature windows reach before
the loaded history raises none (see freshness.py).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from functools import cache
from datetime import date, datetime
from typing import TYPE_CHECKING

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.dynamics.alert_reads import check_kind
from segmento.dynamics.freshness import incomplete_periods
from segmento.dynamics.reasons import explain
from segmento.dynamics.rules import STAKE, condition_fields, pairs, picked, read_fields
from segmento.dynamics.settings import TrajectoryRule
from segmento.dynamics.store import require_periods, taken_periods
from segmento.features import AsOf, compute_features
from segmento.features.providers import unready
from segmento.features.sqlexpr import names_in
from segmento.store.backend import append, held, transaction
from segmento.store.engines import engine_of
from segmento.store.registry import ALERTS as ALERTS_TABLE
from segmento.store.tables import table

if TYPE_CHECKING:
    from segmento.config import Project

ALERTS = ALERTS_TABLE.name
ALERT_SCHEMA = ALERTS_TABLE.schema


def alerts_table(con: BaseBackend) -> ibis.Table:
    return table(con, ALERTS)


def traits_known(rule: TrajectoryRule, periods: list[date], unready_at: Callable[[date], set[str]]) -> bool:
    """False when the rule reads predictive traits and no model was fitted by then (but one was later).

    A model fitted after a period carries knowledge of later orders, so periods
    before the first fit raise no alert for such a rule. With no model at all, the
    rule goes on and the traits' own error says how to fit one.
    """
    start, end = periods[0], periods[-1]
    needs: dict[date, set[str]] = {start: set(), end: set()}
    if rule.where:
        needs[end] |= set(names_in(rule.where))
        if rule.trigger == "condition":  # the condition is also read before, to fire on its edge
            needs[start] |= set(names_in(rule.where))
    if rule.value != "spend_12m":
        needs[end].add("clv_12m")
        if rule.value == "clv_lost":
            needs[start].add("clv_12m")
    if not any(names & unready_at(day) for day, names in needs.items()):
        return True
    return bool(set().union(*needs.values()) & unready_at(date(9999, 12, 30)))  # none ever fitted


def rule_periods(
    con: BaseBackend, rule: TrajectoryRule, from_period: date, to_period: date, history: History | None = None
) -> list[date] | None:
    """The consecutive taken periods the rule reads to alert at ``to_period`` (None: not enough history yet,
    or a period among them has incomplete feature windows)."""
    history = history or History(con)
    taken = history.taken(rule.segmentation)
    require_periods(con, rule.segmentation, from_period, to_period, taken=taken)
    back = rule.persist if rule.trigger == "move" else 1  # a condition trigger compares two periods
    periods = [*[p for p in taken if p <= from_period][-back:], to_period]
    if len(periods) < back + 1 or history.incomplete(rule.segmentation) & set(periods):
        return None
    return periods


class History:
    """What the rules of one move read about the periods, each asked once (not once per rule)."""

    def __init__(self, con: BaseBackend) -> None:
        self.taken = cache(lambda segmentation: taken_periods(con, segmentation))
        self.incomplete = cache(lambda segmentation: set(incomplete_periods(con, segmentation)))
        self.unready = cache(lambda day: unready(con, AsOf.of(day)))


def alert_rows(rules: dict[str, tuple[TrajectoryRule, list[str]]], period: date, picks: list[dict]) -> pa.Table:
    """Picked rows (each with its ``rule`` and the columns that rule's pick has) as stored alerts, with reasons."""
    created = datetime.now().replace(microsecond=0)
    out = []
    for found in picks:
        rule, columns = rules[found["rule"]]
        row = {name: found[name] for name in columns}  # the rule's own columns: explain() reads which are there
        reason, figures = explain(rule, row)
        out.append({
            "alert_id": f"{rule.name}|{period.isoformat()}|{row['customer_id']}", "period": period,
            "customer_id": row["customer_id"], "rule": rule.name, "segmentation": rule.segmentation,
            "from_segment": row["from_segment"], "to_segment": row["to_segment"], "kind": rule.kind,
            "journey": rule.journey, "priority": row["priority"], "reason": reason, "figures": figures,
            "created_at": created,
        })
    return pa.Table.from_pylist(out, schema=ALERT_SCHEMA.to_pyarrow())


def _one_table(picks: list[tuple[TrajectoryRule, ibis.Table]]) -> ibis.Table:
    """Every rule's pick in one table: the union of their columns (missing ones NULL) and the rule's name."""
    schema: dict[str, ibis.DataType] = {}
    for _, rows in picks:
        for name, dtype in rows.schema().items():
            schema.setdefault(name, dtype)
    parts = [
        rows.select(rule=ibis.literal(rule.name, "string"),
                    **{name: rows[name].cast(dtype) if name in rows.columns else ibis.null(dtype)
                       for name, dtype in schema.items()})
        for rule, rows in picks
    ]
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


OnNewAlerts = Callable[[BaseBackend, pa.Table], object]


def raise_alerts(
    con: BaseBackend,
    rules: list[TrajectoryRule],
    from_period: date,
    to_period: date,
    on_new: OnNewAlerts | None = None,
    features: ibis.Table | None = None,
    project: Project | None = None,
    before: ibis.Table | None = None,
) -> int:
    """Store the alerts of every rule for the move from ``from_period`` to ``to_period``.

    Returns how many new alerts were stored; alerts already stored are left alone.
    ``features`` as of ``to_period`` are computed when not given or short of a rule's
    reason fields; ``before``, features as of ``from_period``, likewise. ``on_new`` runs in the same transaction with the new rows
    (e.g. to write the activation outbox), so an alert is never stored without its
    delivery being queued.

    One pass: the pairs of two periods are built once and shared by every rule that reads
    them, every rule's pick is one query, alerts already stored are left out in the engine,
    and only the new alerts come back to be explained (reasons are worded here) and written.
    """
    history = History(con)
    ready = [
        (rule, periods)
        for rule in rules
        if (periods := rule_periods(con, rule, from_period, to_period, history))
        and traits_known(rule, periods, history.unready)
    ]
    if not ready:
        return 0
    needed = sorted({f for rule, _ in ready for f in read_fields(rule)})
    if features is None or not set(needed) <= set(features.columns):
        features = compute_features(con, to_period, project, needed)
    # read as of the period before: the conditions' fields (their edge), the value a one-period move lost
    earlier = {f for rule, _ in ready if rule.trigger == "condition" for f in condition_fields(rule)}
    earlier |= {STAKE for rule, periods in ready if rule.value == "clv_lost" and len(periods) == 2}
    then = None
    if earlier:
        known = before is not None and earlier <= set(before.columns)
        # read by several rules: computed once in a batch step (a snapshot)
        then = before if known else held(con, compute_features(con, from_period, project, sorted(earlier)))
    engine = engine_of(con)
    with ExitStack() as stack:
        built: dict[tuple[str, date, date], ibis.Table] = {}

        def pairs_of(segmentation: str, before: date, after: date) -> ibis.Table:
            key = (segmentation, before, after)
            if key not in built:
                built[key] = stack.enter_context(engine.staged(pairs(con, segmentation, before, after)))
            return built[key]

        picks = [(rule, picked(con, rule, periods, features, then, project, pairs_of)) for rule, periods in ready]
        rows = _one_table(picks)
        stored = alerts_table(con)
        known = stored.filter(stored.period == to_period).select("rule", "customer_id")
        found = rows.anti_join(known, ["rule", "customer_id"]).to_pyarrow()  # only the new ones: sorted here
    columns = {rule.name: (rule, rows.columns) for rule, rows in picks}
    order = {rule.name: i for i, (rule, _) in enumerate(picks)}
    new = alert_rows(columns, to_period, sorted(found.to_pylist(), key=lambda row: (order[row["rule"]], row["customer_id"])))
    if new.num_rows:
        with transaction(con):
            append(con, ALERTS, new)
            if on_new is not None:
                on_new(con, new)
    return new.num_rows


def list_alerts(
    con: BaseBackend,
    period: date | None = None,
    kind: str | None = None,
    rule: str | None = None,
    min_priority: float | None = None,
    limit: int | None = None,
) -> ibis.Table:
    """Stored alerts, latest period first, then highest value at stake, filtered as asked."""
    check_kind(kind)
    table = alerts_table(con)
    if period is not None:
        table = table.filter(table.period == period)
    if kind is not None:
        table = table.filter(table.kind == kind)
    if rule is not None:
        table = table.filter(table.rule == rule)
    if min_priority is not None:
        table = table.filter(table.priority >= min_priority)
    table = table.order_by([ibis.desc("period"), ibis.desc("priority"), "alert_id"])
    return table.limit(limit) if limit else table
