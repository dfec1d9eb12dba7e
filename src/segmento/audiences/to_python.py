"""Checked AST -> Python predicate (real time: one customer, no engine round trip).

It mirrors SQL's three-valued logic exactly as DuckDB evaluates the Ibis compilation:
None is UNKNOWN, AND/OR/NOT follow Kleene's tables, NaN sorts above every number and
equals itself, LIKE has no escape character. The batch == real-time property test holds
the two compilers to the same answers.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

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
    like_regex,
)
from segmento.audiences.instants import window_start

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Context:
    """What a predicate reads for one customer at one instant: features, events, memo of counts."""

    __slots__ = ("features", "events", "as_of", "memo")

    def __init__(self, features: Mapping[str, Any], events: Sequence[Mapping[str, Any]], as_of: datetime) -> None:
        self.features = features
        self.events = events
        self.as_of = as_of
        self.memo: dict[EventCount, int] = {}

    def get(self, name: str) -> Any:
        return self.features.get(name)


Compiled = Callable[[Any], Any]  # takes a Context (or an event row inside event functions)


def to_python(node: Node, audience: Callable[[str], Compiled] | None = None) -> Compiled:
    """Compile ``node`` into a function of a :class:`Context` returning True, False or None."""

    def compile_(n: Node) -> Compiled:
        match n:
            case Field(name=name):
                return lambda row: row.get(name)
            case Literal(value=value):
                return lambda row: value
            case Compare(op=op, left=left, right=right):
                return _compare(_OPS[op], compile_(left), compile_(right))
            case Between(value=value, low=low, high=high, negated=negated):
                v, lo, hi = compile_(value), compile_(low), compile_(high)
                ge, le = _compare(operator.ge, v, lo), _compare(operator.le, v, hi)
                return _negate(_and([ge, le]), negated)
            case InList(value=value, options=options, negated=negated):
                return _negate(_in_list(compile_(value), [o.value for o in options]), negated)
            case Contains(item=item, collection=collection, negated=negated):
                return _negate(_contains(compile_(item), compile_(collection)), negated)
            case IsNull(value=value, negated=negated):
                get = compile_(value)
                return (lambda row: get(row) is not None) if negated else (lambda row: get(row) is None)
            case Like(value=value, pattern=pattern, negated=negated, case_insensitive=ci):
                return _negate(_like(compile_(value), pattern.value, ci), negated)
            case And(items=items):
                return _and([compile_(i) for i in items])
            case Or(items=items):
                return _or([compile_(i) for i in items])
            case Not(item=item):
                return _negate(compile_(item), True)
            case EventCount():
                return _event_count(n, compile_(n.where) if n.where is not None else None)
            case AudienceRef(name=name):
                if audience is None:
                    raise ValueError("audience references need the other audiences")
                other = audience(name)
                return lambda row: other(row) is True
        raise TypeError(f"cannot compile {n!r}")

    return compile_(node)


def _key(value: Any) -> Any:
    """DuckDB orders NaN above every number and NaN = NaN; Python does neither."""
    if isinstance(value, float) and math.isnan(value):
        return (1, 0.0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return value


def _compare(op: Callable[[Any, Any], bool], left: Compiled, right: Compiled) -> Compiled:
    def compare(row: Any) -> bool | None:
        a, b = left(row), right(row)
        if a is None or b is None:
            return None
        return op(_key(a), _key(b))

    return compare


def _negate(f: Compiled, negated: bool) -> Compiled:
    if not negated:
        return f

    def negate(row: Any) -> bool | None:
        value = f(row)
        return None if value is None else not value

    return negate


def _and(parts: list[Compiled]) -> Compiled:
    def and_(row: Any) -> bool | None:
        unknown = False
        for part in parts:
            value = part(row)
            if value is False:
                return False
            unknown = unknown or value is None
        return None if unknown else True

    return and_


def _or(parts: list[Compiled]) -> Compiled:
    def or_(row: Any) -> bool | None:
        unknown = False
        for part in parts:
            value = part(row)
            if value is True:
                return True
            unknown = unknown or value is None
        return None if unknown else False

    return or_


def _in_list(get: Compiled, options: list[Any]) -> Compiled:
    keys = {_key(o) for o in options}

    def in_list(row: Any) -> bool | None:
        value = get(row)
        return None if value is None else _key(value) in keys

    return in_list


def _contains(item: Compiled, collection: Compiled) -> Compiled:
    def contains(row: Any) -> bool | None:
        items, value = collection(row), item(row)
        if items is None or value is None:
            return None
        return value in items

    return contains


def _like(get: Compiled, pattern: str, case_insensitive: bool) -> Compiled:
    regex = like_regex(pattern.lower() if case_insensitive else pattern)

    def like(row: Any) -> bool | None:
        value = get(row)
        if value is None:
            return None
        return regex.fullmatch(value.lower() if case_insensitive else value) is not None

    return like


def _event_count(node: EventCount, where: Compiled | None) -> Compiled:
    """Events in [window start, as_of] of the node's types where the filter is TRUE."""
    types = frozenset(node.types)

    def count(ctx: Context) -> int:
        if node in ctx.memo:
            return ctx.memo[node]
        as_of = ctx.as_of
        start = window_start(as_of, node.window)
        n = 0
        for event in ctx.events:
            at = event["occurred_at"]
            if at > as_of or (start is not None and at < start):
                continue
            if types and event["type"] not in types:
                continue
            if where is None or where(event) is True:
                n += 1
        ctx.memo[node] = n
        return n

    return count
