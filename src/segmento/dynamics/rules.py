"""Which customers a trajectory rule picks at a period, with the figures that moved.

A rule fires on real change, not on a customer hovering at a cut point:
- ``min_change``: the 12-month spend moved by at least this share in the rule's direction;
- ``persist``: the customer is still past the move ``persist`` periods after it (the alert
  comes at the last of them, once per episode);
- ``overdue``: days since the last order exceed k times the customer's own usual interval
  between orders (``order_interval_days``), so a monthly buyer silent for 70 days counts
  and a twice-a-year buyer silent for 70 days does not;
- ``where``: any SQL condition on features (``p_alive < 0.3`` once predictive traits are fitted).
``trigger: condition`` fires when ``overdue``/``where`` becomes true for a customer who was
in a ``from`` segment, with or without a change of segment. ``value`` says what is at stake
(the alert's priority): the 12-month spend before the move, or the expected 12-month value
(``clv_12m``) after it, or what the move cost in it (``clv_lost``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date
from functools import reduce
from typing import TYPE_CHECKING

import ibis
from ibis.backends import BaseBackend

from segmento.dynamics.settings import TrajectoryRule
from segmento.dynamics.store import EXIT, NEW, period_of
from segmento.errors import SegmentoError
from segmento.features import compute_features
from segmento.features.sqlexpr import SqlExprError, names_in
from segmento.features.sqlexpr_ibis import compile_sql

if TYPE_CHECKING:
    from segmento.config import Project

RECENCY, RHYTHM = "recency_days", "order_interval_days"
STAKE = "clv_12m"  # the predictive value at stake a rule may weigh its alerts by
PairsOf = Callable[[str, date, date], ibis.Table]  # (segmentation, before, after) -> pairs (see ``pairs``)


def condition_fields(rule: TrajectoryRule) -> list[str]:
    """Features the rule's conditions read, in a stable order."""
    names = [RECENCY, RHYTHM] if rule.overdue else []
    if rule.where:
        names += sorted(set(names_in(rule.where)) - set(names))
    return names


def reason_fields(rule: TrajectoryRule) -> list[str]:
    """Features an alert of this rule reports (as of its period)."""
    return list(dict.fromkeys([RECENCY, RHYTHM, *condition_fields(rule)]))


def read_fields(rule: TrajectoryRule) -> list[str]:
    """Features the rule reads as of its period: its reason fields and the value at stake after the move
    (computed with the period's other features, not again apart: a trait costs a scoring of the base)."""
    stake = [STAKE] if rule.value in (STAKE, "clv_lost") else []
    return list(dict.fromkeys([*reason_fields(rule), *stake]))


def condition(rule: TrajectoryRule, features: ibis.Table) -> ibis.BooleanValue | None:
    """The rule's feature condition over a features table (unknown counts as false)."""
    parts = []
    if rule.overdue:
        parts.append(features[RECENCY] > features[RHYTHM] * rule.overdue)
    if rule.where:
        try:
            parts.append(compile_sql(rule.where, {c: features[c] for c in features.columns}, kind="feature"))
        except SqlExprError as exc:
            raise SegmentoError(f"alert rule {rule.name!r}: in where: {exc}; fix the rule in the project file") from None
    return reduce(operator.and_, parts).fill_null(False) if parts else None


def at_stake(
    con: BaseBackend, rule: TrajectoryRule, start: date, end: date, project: Project | None,
    now: ibis.Table | None = None, then: ibis.Table | None = None,
) -> ibis.Table:
    """customer_id, priority: clv_12m after the move, or the clv_12m lost in it (predictive traits).
    ``now`` / ``then``: features as of ``end`` / ``start`` already computed (used when they hold clv_12m)."""
    after = _with_stake(con, now, end, project)
    if rule.value == STAKE:
        return after.select("customer_id", priority=after[STAKE])
    before = _with_stake(con, then, start, project).rename(clv_before=STAKE)
    joined = before.left_join(after, "customer_id")
    lost = joined.clv_before.fill_null(0.0) - joined[STAKE].fill_null(0.0)
    return joined.select(customer_id=joined.customer_id, priority=ibis.greatest(lost, 0.0))


def _with_stake(con: BaseBackend, features: ibis.Table | None, day: date, project: Project | None) -> ibis.Table:
    """customer_id, clv_12m as of ``day``: from ``features`` (as of that day) when they hold it."""
    if features is not None and STAKE in features.columns:
        return features.select("customer_id", STAKE)
    return compute_features(con, day, project, names=[STAKE])


def _side(con: BaseBackend, segmentation: str, period: date, prefix: str) -> ibis.Table:
    rows = period_of(con, segmentation, period)
    return rows.select("customer_id", **{f"{prefix}_segment": "segment_id", f"{prefix}_rank": "segment_rank",
                                         f"value_{'before' if prefix == 'from' else 'after'}": "value"})


def pairs(con: BaseBackend, segmentation: str, before: date, after: date) -> ibis.Table:
    """One row per customer in the earlier snapshot: segments, ranks and values at both dates."""
    first = _side(con, segmentation, before, "from")
    second = _side(con, segmentation, after, "to").view()
    joined = first.left_join(second, first.customer_id == second.customer_id)
    return joined.select(
        "customer_id", "from_segment", "from_rank", "value_before",
        to_segment=joined.to_segment.fill_null(EXIT), to_rank=joined.to_rank, value_after=joined.value_after,
    )


def _past_the_move(pairs: ibis.Table, rule: TrajectoryRule) -> ibis.Table:
    """Pairs whose segments satisfy the rule's from/to/direction."""
    moved = pairs.filter((pairs.from_segment != pairs.to_segment) & (pairs.from_segment != NEW))
    if rule.from_segments != "*":
        moved = moved.filter(moved.from_segment.isin(rule.from_segments))
    if rule.to_segments != "*":
        moved = moved.filter(moved.to_segment.isin(rule.to_segments))
    if rule.direction == "down":  # a higher rank number is a worse segment; leaving the base is down
        moved = moved.filter((moved.to_segment == EXIT) | (moved.to_rank > moved.from_rank))
    elif rule.direction == "up":
        moved = moved.filter((moved.to_segment != EXIT) & (moved.to_rank < moved.from_rank))
    return moved


def _changed_enough(rows: ibis.Table, rule: TrajectoryRule) -> ibis.Table:
    """A relative change of the 12-month spend of at least ``min_change``."""
    before, after = rows.value_before.fill_null(0.0), rows.value_after.fill_null(0.0)
    if rule.min_change <= 0:
        return rows
    change = rule.min_change
    if rule.direction == "down":
        return rows.filter(after <= before * (1 - change))
    if rule.direction == "up":
        return rows.filter(after >= before * (1 + change))
    return rows.filter((after - before).abs() >= before * change)


def picked(
    con: BaseBackend,
    rule: TrajectoryRule,
    periods: list[date],
    now: ibis.Table,
    then: ibis.Table | None,
    project: Project | None = None,
    pairs_of: PairsOf | None = None,
) -> ibis.Table:
    """The customers ``rule`` picks at ``periods[-1]``.

    ``periods`` are the consecutive taken periods the rule reads (``persist`` + 1 of them);
    ``now`` holds the features as of the last one, ``then`` (or None) as of the one before (read
    by condition triggers, and for the value lost in a one-period move); ``pairs_of`` gives the
    pairs of two periods (default: :func:`pairs`, built afresh; the alerts pass tables built once
    per period and shared by every rule). Columns:
    customer_id, from/to segment, value before/after, priority (the value at stake, at least
    ``min_value``), reason fields.
    """
    pairs_of = pairs_of or (lambda segmentation, before, after: pairs(con, segmentation, before, after))
    start, last = periods[0], periods[-1]
    if rule.trigger == "move":
        rows = _past_the_move(pairs_of(rule.segmentation, start, periods[1]), rule)
        for later in periods[2:]:  # still past the move at every later period
            still = _past_the_move(pairs_of(rule.segmentation, start, later), rule).select("customer_id")
            rows = rows.semi_join(still, "customer_id")
        if len(periods) > 2:  # segment and value at the alert's period (every row was in the first snapshot)
            final = pairs_of(rule.segmentation, start, last).select("customer_id", "to_segment", "value_after").view()
            rows = rows.select("customer_id", "from_segment", "value_before")
            rows = rows.left_join(final, rows.customer_id == final.customer_id)
            rows = rows.select("customer_id", "from_segment", "value_before", "value_after", "to_segment")
    else:
        rows = pairs_of(rule.segmentation, start, last)
        if rule.from_segments != "*":
            rows = rows.filter(rows.from_segment.isin(rule.from_segments))
        if rule.to_segments != "*":
            rows = rows.filter(rows.to_segment.isin(rule.to_segments))
    rows = _changed_enough(rows, rule)
    if rule.value == "spend_12m":
        rows = rows.mutate(priority=rows.value_before.fill_null(0.0))
    else:
        stake = at_stake(con, rule, start, last, project, now, then if len(periods) == 2 else None).view()
        rows = rows.left_join(stake, rows.customer_id == stake.customer_id).drop("customer_id_right")
        rows = rows.mutate(priority=rows.priority.fill_null(0.0))
    rows = rows.filter(rows.priority >= rule.min_value)

    fields = reason_fields(rule)
    current = now.select("customer_id", *fields).view()
    rows = rows.left_join(current, rows.customer_id == current.customer_id)
    rows = rows.drop("customer_id_right")
    test = condition(rule, rows)
    if test is not None:
        rows = rows.filter(test)
    if rule.trigger == "condition" and then is not None:  # edge: the condition was not true before
        earlier = then.mutate(_was=condition(rule, then)).select(
            "customer_id", "_was", **{f"{name}_before": name for name in condition_fields(rule)}).view()
        rows = rows.left_join(earlier, rows.customer_id == earlier.customer_id)
        rows = rows.filter(~rows._was.fill_null(False)).drop("customer_id_right", "_was")
    return rows.select(
        "customer_id", "from_segment", "to_segment", "value_before", "value_after", "priority",
        *fields, *[f"{name}_before" for name in condition_fields(rule) if rule.trigger == "condition" and then is not None],
    )

