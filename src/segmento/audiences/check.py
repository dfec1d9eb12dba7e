"""Name and type checking of a parsed rule against the feature catalog.

Both compilers trust what this module lets through, so every mistake an analyst can make
is caught here with the position, the name at fault and the closest valid one. It also
normalises the tree: a bare event condition becomes ``count > 0``, and values compared
with event columns (all text) become text, so ``size = 43`` matches size '43'.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

import ibis.expr.datatypes as dt

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
    RuleError,
)
from segmento.audiences.parser import suggest
from segmento.store.schema import EVENT_CHANNELS, EVENT_TYPES

NUMBER, TEXT, BOOL, LIST = "number", "text", "true/false", "list"
EVENT_FIELDS: dict[str, str] = {"type": TEXT, "channel": TEXT, "category": TEXT, "size": TEXT, "campaign_id": TEXT}
_EVENT_VALUES = {"type": EVENT_TYPES, "channel": EVENT_CHANNELS}
_ARTICLE = {NUMBER: "a number", TEXT: "text", BOOL: "true/false", LIST: "a list"}


def kind_of_dtype(dtype: dt.DataType) -> str:
    """The rule language's kind for a feature column type."""
    if dtype.is_numeric():
        return NUMBER
    if dtype.is_string():
        return TEXT
    if dtype.is_boolean():
        return BOOL
    if dtype.is_array():
        return LIST
    return str(dtype)


def check_rule(text: str, node: Node, fields: Mapping[str, str], audiences: Collection[str]) -> Node:
    """Check ``node`` (parsed from ``text``) and return it normalised; raise RuleError otherwise.

    ``fields`` maps feature name -> kind (see :func:`kind_of_dtype`); ``audiences`` are the
    names ``in_audience()`` may refer to.
    """
    return _Checker(text, fields, audiences).condition(node)


class _Checker:
    def __init__(self, text: str, fields: Mapping[str, str], audiences: Collection[str], event: str | None = None):
        self.text = text
        self.fields = fields
        self.audiences = audiences
        self.event = event  # inside an event function: its name, and fields are event columns

    def fail(self, message: str, node: Node) -> RuleError:
        return RuleError(message, self.text, node.span if node.span != (0, 0) else None)

    # -- conditions -------------------------------------------------------------------

    def condition(self, node: Node) -> Node:
        if isinstance(node, (And, Or)):
            return replace(node, items=tuple(self.condition(item) for item in node.items))
        if isinstance(node, Not):
            return replace(node, item=self.condition(node.item))
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Between):
            return self.between(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, Contains):
            return self.contains(node)
        if isinstance(node, IsNull):
            if isinstance(node.value, Literal):
                raise self.fail("IS NULL tests a field, not a value", node)
            return replace(node, value=self.value(node.value)[0])
        if isinstance(node, Like):
            return self.like(node)
        if isinstance(node, AudienceRef):
            return self.audience(node)
        if isinstance(node, EventCount):
            return Compare(">", self.value(node)[0], Literal(0), span=node.span)
        value, kind = self.value(node)
        if kind != BOOL:
            what = f"field {node.name!r} is" if isinstance(node, Field) else f"{_shown(node)} is"
            raise self.fail(f"{what} {_ARTICLE[kind]}, not a condition; compare it with a value", node)
        return value

    def compare(self, node: Compare) -> Node:
        for side in (node.left, node.right):
            if isinstance(side, Literal) and side.value is None:
                raise self.fail(f"nothing equals NULL; write IS NULL or IS NOT NULL instead of {node.op} NULL", node)
        (left, left_kind), (right, right_kind) = self.values(node.left, node.right)
        if LIST in (left_kind, right_kind):
            listed = node.left if left_kind == LIST else node.right
            raise self.fail(f"{_shown(listed)} is a list; test membership with 'value' IN {_shown(listed)}", node)
        self.same_kind(node, (left_kind, right_kind))
        if left_kind == BOOL and node.op not in ("=", "!="):
            raise self.fail(f"true/false values can only be compared with = or !=, not {node.op}", node)
        return replace(node, left=left, right=right)

    def between(self, node: Between) -> Node:
        checked = self.values(node.value, node.low, node.high)
        kinds = [kind for _, kind in checked]
        if kinds[0] not in (NUMBER, TEXT):
            raise self.fail(f"BETWEEN needs numbers or text, not {_ARTICLE.get(kinds[0], kinds[0])}", node)
        self.same_kind(node, kinds)
        return replace(node, value=checked[0][0], low=checked[1][0], high=checked[2][0])

    def in_list(self, node: InList) -> Node:
        value, kind = self.value(node.value)
        if kind == LIST:
            name = _shown(node.value)
            raise self.fail(f"{name} is a list; write 'value' IN {name} to test membership", node)
        options = []
        for option in node.options:
            if not isinstance(option, Literal) or option.value is None:
                raise self.fail("IN takes a list of values, e.g. country IN ('FR', 'BE')", option)
            checked, option_kind = self.value(option, like=kind)
            self.same_kind(node, (kind, option_kind))
            options.append(checked)
        return replace(node, value=value, options=tuple(options))

    def contains(self, node: Contains) -> Node:
        collection, kind = self.value(node.collection)
        if kind != LIST:
            name = _shown(node.collection)
            raise self.fail(f"{name} is {_ARTICLE.get(kind, kind)}, not a list; write {name} = value", node.collection)
        item, item_kind = self.value(node.item)
        if item_kind != TEXT:
            raise self.fail(f"{_shown(node.collection)} holds text; the value before IN must be text", node.item)
        return replace(node, item=item, collection=collection)

    def like(self, node: Like) -> Node:
        value, kind = self.value(node.value)
        if kind != TEXT:
            raise self.fail(f"LIKE matches text; {_shown(node.value)} is {_ARTICLE.get(kind, kind)}", node)
        if not (isinstance(node.pattern, Literal) and isinstance(node.pattern.value, str)):
            raise self.fail("LIKE takes a pattern in quotes, e.g. city LIKE 'Saint%'", node.pattern)
        return replace(node, value=value)

    def audience(self, node: AudienceRef) -> Node:
        if self.event:
            raise self.fail(f"in_audience() cannot be used inside {self.event}()", node)
        if node.name not in self.audiences:
            raise self.fail(f"unknown audience {node.name!r}{suggest(node.name, sorted(self.audiences))}", node)
        return node

    def same_kind(self, node: Node, kinds: list[str] | tuple[str, ...]) -> None:
        if len(set(kinds)) > 1:
            shown = " and ".join(_ARTICLE.get(k, k) for k in dict.fromkeys(kinds))
            raise self.fail(f"cannot compare {shown}", node)

    # -- values -----------------------------------------------------------------------

    def values(self, *nodes: Node) -> list[tuple[Node, str]]:
        """Check several values; a text field makes a number literal beside it text (event columns)."""
        checked = [self.value(n) for n in nodes]
        field_kinds = {kind for n, (_, kind) in zip(nodes, checked, strict=True) if not isinstance(n, Literal)}
        if field_kinds == {TEXT} and self.event:
            checked = [self.value(n, like=TEXT) for n in nodes]
        return checked

    def value(self, node: Node, like: str | None = None) -> tuple[Node, str]:
        if isinstance(node, Field):
            return node, self.field(node)
        if isinstance(node, Literal):
            return self.literal(node, like)
        if isinstance(node, EventCount):
            return self.event_count(node), NUMBER
        if isinstance(node, (Compare, Between, InList, Contains, IsNull, Like, And, Or, Not, AudienceRef)):
            return self.condition(node), BOOL
        raise self.fail(f"{_shown(node)} is not a value", node)

    def literal(self, node: Literal, like: str | None) -> tuple[Node, str]:
        value = node.value
        if isinstance(value, bool):
            return node, BOOL
        if isinstance(value, (int, float)):
            if like == TEXT and self.event:  # size = 43 on a text column means '43'
                return replace(node, value=str(value)), TEXT
            return node, NUMBER
        if value is None:
            raise self.fail("NULL is not a value here; test for it with IS NULL", node)
        return node, TEXT

    def field(self, node: Field) -> str:
        if self.event:
            if node.name not in EVENT_FIELDS:
                raise self.fail(
                    f"unknown event field {node.name!r} in {self.event}(){suggest(node.name, list(EVENT_FIELDS))}"
                    f" (event fields: {', '.join(EVENT_FIELDS)})",
                    node,
                )
            return EVENT_FIELDS[node.name]
        if node.name not in self.fields:
            hint = f" (double quotes name a field; write text in single quotes: '{node.name}')" if node.quoted else ""
            raise self.fail(f"unknown field {node.name!r}{suggest(node.name, sorted(self.fields))}{hint}", node)
        kind = self.fields[node.name]
        if kind not in (NUMBER, TEXT, BOOL, LIST):
            raise self.fail(f"field {node.name!r} is a {kind}; rules compare numbers, text and true/false", node)
        return kind

    def event_count(self, node: EventCount) -> EventCount:
        if self.event:
            raise self.fail(f"{node.function}() cannot be used inside {self.event}()", node)
        if node.where is None:
            return node
        inner = _Checker(self.text, self.fields, self.audiences, event=node.function)
        where = inner.condition(node.where)
        for field_node, literal in _equalities(where):
            allowed = _EVENT_VALUES.get(field_node.name)
            if allowed and literal.value not in allowed:
                raise self.fail(
                    f"unknown event {field_node.name} {literal.value!r}{suggest(str(literal.value), allowed)}"
                    f" ({field_node.name} is one of: {', '.join(allowed)})",
                    literal,
                )
        return replace(node, where=where)


def _equalities(node: Node) -> list[tuple[Field, Literal]]:
    """(field, value) pairs of ``field = 'value'`` and ``field IN (...)`` in an event filter."""
    pairs: list[tuple[Field, Literal]] = []
    for n in node.walk():
        if isinstance(n, Compare) and n.op == "=" and isinstance(n.left, Field) and isinstance(n.right, Literal):
            pairs.append((n.left, n.right))
        elif isinstance(n, InList) and isinstance(n.value, Field):
            pairs.extend((n.value, o) for o in n.options if isinstance(o, Literal))
    return pairs


def _shown(node: Node) -> str:
    if isinstance(node, Field):
        return node.name
    if isinstance(node, Literal):
        return repr(node.value)
    if isinstance(node, EventCount):
        return f"{node.function}()"
    return type(node).__name__.lower()
