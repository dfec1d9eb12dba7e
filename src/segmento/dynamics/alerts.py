"""Trajectory alerts: the moves a brand cares about, raised once per customer, rule and period.

An alert's id is a hash of (customer, rule, period), so re-running a period never
raises it twice; the activation stage delivers alerts by that id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, get_args

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.dynamics.settings import TrajectoryRule
from segmento.errors import NotFoundError, SegmentoError
from segmento.features import AsOf, compute_features
from segmento.features.providers import unready
from segmento.features.sqlexpr import SqlExprError, compile_sql, names_in
from segmento.dynamics.store import EXIT, NEW, period_of, require_periods
from segmento.dynamics.transitions import transition_pairs
from segmento.store.backend import append, transaction
from segmento.store.registry import ALERTS as ALERTS_TABLE
from segmento.store.tables import table

if TYPE_CHECKING:
    from segmento.config import Project

ALERT_KINDS: tuple[str, ...] = get_args(TrajectoryRule.model_fields["kind"].annotation)

ALERTS = ALERTS_TABLE.name
ALERT_SCHEMA = ALERTS_TABLE.schema


def alerts_table(con: BaseBackend) -> ibis.Table:
    return table(con, ALERTS)


def clv_at_stake(con: BaseBackend, value: str, from_period: date, to_period: date, project: Project | None) -> ibis.Table:
    """customer_id, value: clv_12m after the move, or the clv_12m lost in it (predictive traits)."""
    after = compute_features(con, to_period, project, names=["clv_12m"])
    if value == "clv_12m":
        return after.select("customer_id", value=after.clv_12m)
    before = compute_features(con, from_period, project, names=["clv_12m"]).rename(clv_before="clv_12m")
    joined = before.left_join(after, "customer_id")
    lost = joined.clv_before.fill_null(0.0) - joined.clv_12m.fill_null(0.0)
    return joined.select(customer_id=joined.customer_id, value=ibis.greatest(lost, 0.0))


def features_meeting(con: BaseBackend, rule: TrajectoryRule, period: date, project: Project | None) -> ibis.Table:
    """customer_id of those whose features at ``period`` meet the rule's ``where`` (e.g. p_alive < 0.3)."""
    names = sorted(names_in(rule.where))
    features = compute_features(con, period, project, names=names)
    try:
        condition = compile_sql(rule.where, {c: features[c] for c in features.columns}, kind="feature")
    except SqlExprError as exc:
        raise SegmentoError(f"alert rule {rule.name!r}: in where: {exc}") from None
    return features.filter(condition.fill_null(False)).select("customer_id")


def traits_known(con: BaseBackend, rule: TrajectoryRule, from_period: date, to_period: date) -> bool:
    """False when the rule reads predictive traits and no model was fitted by then (but one was later).

    A model fitted after the period carries knowledge of later orders, so periods
    before the first fit raise no alert for such a rule. With no model at all, the
    rule goes on and the traits' own error says how to fit one.
    """
    needed = set(names_in(rule.where)) if rule.where else set()
    dates = [to_period]
    if rule.value != "spend_12m":
        needed.add("clv_12m")
        dates += [from_period] if rule.value == "clv_lost" else []
    if not any(needed & unready(con, AsOf.of(day)) for day in dates):
        return True
    return bool(needed & unready(con, AsOf.of(date(9999, 12, 30))))  # none ever fitted: let the traits say so


def matching_moves(
    con: BaseBackend, rule: TrajectoryRule, from_period: date, to_period: date, project: Project | None = None
) -> ibis.Table:
    """The customers whose move between the two periods matches ``rule``, as alert rows."""
    pairs = transition_pairs(con, rule.segmentation, from_period, to_period)
    moved = pairs.filter((pairs.from_segment != pairs.to_segment) & (pairs.from_segment != NEW))
    if rule.from_segments != "*":
        moved = moved.filter(moved.from_segment.isin(rule.from_segments))
    if rule.to_segments != "*":
        moved = moved.filter(moved.to_segment.isin(rule.to_segments))
    if rule.direction == "down":  # a higher rank number is a worse segment; leaving the base is down
        moved = moved.filter((moved.to_segment == EXIT) | (moved.to_rank > moved.from_rank))
    elif rule.direction == "up":
        moved = moved.filter((moved.to_segment != EXIT) & (moved.to_rank < moved.from_rank))
    if rule.value == "spend_12m":
        before = period_of(con, rule.segmentation, from_period).select("customer_id", "value")
    else:
        before = clv_at_stake(con, rule.value, from_period, to_period, project)
    moved = moved.view()
    if rule.where is not None:
        moved = moved.semi_join(features_meeting(con, rule, to_period, project), "customer_id")
    joined = moved.left_join(before, moved.customer_id == before.customer_id)
    priority = joined.value.fill_null(0.0)
    rows = joined.filter(priority >= rule.min_value).select(
        alert_id=ibis.literal(f"{rule.name}|{to_period.isoformat()}|") + joined.customer_id,
        period=ibis.literal(to_period, "date"),
        customer_id=joined.customer_id,
        rule=ibis.literal(rule.name),
        segmentation=ibis.literal(rule.segmentation),
        from_segment=joined.from_segment,
        to_segment=joined.to_segment,
        kind=ibis.literal(rule.kind),
        journey=ibis.literal(rule.journey, "string"),
        priority=priority,
        created_at=ibis.literal(datetime.now().replace(microsecond=0), "timestamp"),
    )
    return rows


OnNewAlerts = Callable[[BaseBackend, pa.Table], object]


def raise_alerts(
    con: BaseBackend,
    rules: list[TrajectoryRule],
    from_period: date,
    to_period: date,
    on_new: OnNewAlerts | None = None,
    project: Project | None = None,
) -> int:
    """Store the alerts of every rule for the move from ``from_period`` to ``to_period``.

    Returns how many new alerts were stored; alerts already stored are left alone.
    ``on_new`` runs in the same transaction with the new rows (e.g. to write the
    activation outbox), so an alert is never stored without its delivery being queued.
    """
    stored = alerts_table(con)
    fresh = []
    for rule in rules:
        require_periods(con, rule.segmentation, from_period, to_period)
        if not traits_known(con, rule, from_period, to_period):
            continue
        candidates = matching_moves(con, rule, from_period, to_period, project)
        fresh.append(candidates.anti_join(stored, "alert_id").select(*stored.columns).to_pyarrow())
    rows = pa.concat_tables(fresh) if fresh else ALERT_SCHEMA.to_pyarrow().empty_table()
    if rows.num_rows:
        with transaction(con):
            append(con, ALERTS, rows)
            if on_new is not None:
                on_new(con, rows)
    return rows.num_rows


def list_alerts(
    con: BaseBackend,
    period: date | None = None,
    kind: str | None = None,
    rule: str | None = None,
    min_priority: float | None = None,
    limit: int | None = None,
) -> ibis.Table:
    """Stored alerts, highest priority first, filtered as asked."""
    if kind is not None and kind not in ALERT_KINDS:
        raise NotFoundError(f"unknown alert kind {kind!r}; valid kinds: {', '.join(ALERT_KINDS)}")
    table = alerts_table(con)
    if period is not None:
        table = table.filter(table.period == period)
    if kind is not None:
        table = table.filter(table.kind == kind)
    if rule is not None:
        table = table.filter(table.rule == rule)
    if min_priority is not None:
        table = table.filter(table.priority >= min_priority)
    table = table.order_by([ibis.desc("priority"), "alert_id"])
    return table.limit(limit) if limit else table
