"""Trajectory alerts: the moves a brand cares about, raised once per customer, rule and period.

An alert's id is a hash of (customer, rule, period), so re-running a period never
raises it twice; the activation stage delivers alerts by that id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.dynamics.settings import TrajectoryRule
from segmento.dynamics.store import EXIT, NEW, period_of, require_periods
from segmento.dynamics.transitions import transition_pairs
from segmento.store.backend import append, transaction
from segmento.store.registry import ALERTS as ALERTS_TABLE
from segmento.store.tables import table

ALERTS = ALERTS_TABLE.name
ALERT_SCHEMA = ALERTS_TABLE.schema


def alerts_table(con: BaseBackend) -> ibis.Table:
    return table(con, ALERTS)


def matching_moves(
    con: BaseBackend, rule: TrajectoryRule, from_period: date, to_period: date
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
    before = period_of(con, rule.segmentation, from_period).select("customer_id", "value")
    moved = moved.view()
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
        candidates = matching_moves(con, rule, from_period, to_period)
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
