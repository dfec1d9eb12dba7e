"""Checked AST -> Ibis expressions (batch evaluation, pushed down to the engine).

SQL's three-valued logic is the reference semantics of the rule language: a NULL feature
makes a comparison NULL, and a customer is a member only where the rule is TRUE.
:mod:`segmento.audiences.to_python` mirrors it row by row for real time.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import reduce

import ibis

from segmento.audiences.ast import (
    And,
    AudienceRef,
    Between,
    Compare,
    Contains,
    EventCount,
    Field,
    InList,
    IsNull,
    Like,
    Literal,
    Node,
    Not,
    Or,
)
from segmento.audiences.instants import window_start

_OPS: dict[str, Callable] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
FieldLookup = Callable[[str], ibis.Value]


def to_ibis(
    node: Node,
    field: FieldLookup,
    count: Callable[[EventCount], ibis.Value] | None = None,
    audience: Callable[[str], ibis.Value] | None = None,
) -> ibis.Value:
    """Compile ``node``; ``field`` gives a column by name, ``count`` an event function's count
    column, ``audience`` another audience's membership (TRUE/FALSE, never NULL)."""

    def compile_(n: Node) -> ibis.Value:
        match n:
            case Field(name=name):
                return field(name)
            case Literal(value=value):
                return ibis.literal(value)
            case Compare(op=op, left=left, right=right):
                return _OPS[op](compile_(left), compile_(right))
            case Between(value=value, low=low, high=high, negated=negated):
                return _negate(compile_(value).between(compile_(low), compile_(high)), negated)
            case InList(value=value, options=options, negated=negated):
                return _negate(compile_(value).isin([o.value for o in options]), negated)
            case Contains(item=item, collection=collection, negated=negated):
                return _negate(compile_(collection).contains(compile_(item)), negated)
            case IsNull(value=value, negated=negated):
                return _negate(compile_(value).isnull(), negated)
            case Like(value=value, pattern=pattern, negated=negated, case_insensitive=ci):
                matched = compile_(value).ilike(pattern.value) if ci else compile_(value).like(pattern.value)
                return _negate(matched, negated)
            case And(items=items):
                return reduce(operator.and_, map(compile_, items))
            case Or(items=items):
                return reduce(operator.or_, map(compile_, items))
            case Not(item=item):
                return ~compile_(item)
            case EventCount():
                if count is None:
                    raise ValueError("event conditions need event counts")
                return count(n)
            case AudienceRef(name=name):
                if audience is None:
                    raise ValueError("audience references need the other audiences")
                return audience(name)
        raise TypeError(f"cannot compile {n!r}")

    return compile_(node)


def _negate(value: ibis.BooleanValue, negated: bool) -> ibis.BooleanValue:
    return ~value if negated else value


def event_count_table(events: ibis.Table, nodes: Sequence[EventCount], as_of: datetime) -> ibis.Table:
    """Per customer, one count column ``_n{i}`` per event function, from events at or before ``as_of``.

    One pass over the events of the widest window, with a conditional sum per function.
    """
    starts = [window_start(as_of, n.window) for n in nodes]
    seen = events.filter(events.occurred_at <= as_of)
    if None not in starts:
        seen = seen.filter(seen.occurred_at >= min(starts))
    sums = {}
    for i, (node, start) in enumerate(zip(nodes, starts, strict=True)):
        conditions = []
        if start is not None:
            conditions.append(seen.occurred_at >= start)
        if node.types:
            conditions.append(seen.type.isin(node.types))
        if node.where is not None:
            conditions.append(to_ibis(node.where, lambda name: seen[name]))
        sums[f"_n{i}"] = seen.count(where=reduce(operator.and_, conditions)) if conditions else seen.count()
    return seen.group_by("customer_id").agg(**sums)
