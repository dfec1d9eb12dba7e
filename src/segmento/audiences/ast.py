"""The audience rule language's own small AST.

sqlglot parses the text; these few node types are all the rest of the package sees, so
the batch (Ibis) and real-time (Python) compilers walk the same small tree. Every node
keeps its span in the rule text so that errors can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Union

from segmento.errors import SegmentoError

Span = tuple[int, int]  # [start, end) character offsets in the rule text
Scalar = Union[str, int, float, bool]

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")

# Event functions: name -> the event types they count (empty: every type).
EVENT_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "viewed": ("product_view", "page_view"),
    "searched": ("search",),
    "carted": ("add_to_cart",),
    "contacted": ("chatbot", "call", "selfcare"),
    "opened": ("email_open",),
    "clicked": ("email_click",),
    "responded": ("campaign_response",),
    "event": (),
}
AUDIENCE_FUNCTION = "in_audience"
WINDOW_ARGUMENT = "within"


class RuleError(SegmentoError):
    """A rule that cannot be used: the message, and where in the rule text it goes wrong."""

    def __init__(self, message: str, rule: str, span: Span | None = None) -> None:
        self.message = message
        self.rule = rule
        self.span = span
        super().__init__(str(self))

    @property
    def position(self) -> tuple[int, int] | None:
        """(line, column), both 1-based, of the start of the span."""
        if self.span is None:
            return None
        before = self.rule[: self.span[0]]
        return before.count("\n") + 1, self.span[0] - (before.rfind("\n") + 1) + 1

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        line, column = self.position
        where = f"column {column}" if "\n" not in self.rule else f"line {line}, column {column}"
        text = self.rule.split("\n")[line - 1]
        width = max(1, min(self.span[1], self.span[0] + len(text) - column + 1) - self.span[0])
        return f"{self.message} (at {where})\n  {text}\n  {' ' * (column - 1)}{'^' * width}"


@dataclass(frozen=True)
class Node:
    """Base of every node: where it is written (excluded from equality, so equal rules compare equal)."""

    span: Span = field(default=(0, 0), compare=False, kw_only=True)

    def children(self) -> Iterator[Node]:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, tuple):
                yield from (v for v in value if isinstance(v, Node))

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children():
            yield from child.walk()


@dataclass(frozen=True)
class Field(Node):
    """A feature (or, inside an event function, an event column); ``quoted`` if written "like this"."""

    name: str
    quoted: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Literal(Node):
    value: Scalar | None


@dataclass(frozen=True)
class Compare(Node):
    op: str  # one of COMPARISONS
    left: Node
    right: Node


@dataclass(frozen=True)
class Between(Node):
    value: Node
    low: Node
    high: Node
    negated: bool = False


@dataclass(frozen=True)
class InList(Node):
    """``value IN (a, b, c)``."""

    value: Node
    options: tuple[Node, ...]
    negated: bool = False


@dataclass(frozen=True)
class Contains(Node):
    """``'tennis' IN interests_90d``: membership in a list feature."""

    item: Node
    collection: Node
    negated: bool = False


@dataclass(frozen=True)
class IsNull(Node):
    value: Node
    negated: bool = False


@dataclass(frozen=True)
class Like(Node):
    value: Node
    pattern: Node
    negated: bool = False
    case_insensitive: bool = False


@dataclass(frozen=True)
class And(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    item: Node


@dataclass(frozen=True)
class EventCount(Node):
    """How many events of ``types`` matching ``where`` happened in the window ending at D.

    As a condition it means "at least one". ``window`` is a features window label
    ('30d', '6w', '12m', 'lifetime': whole calendar days ending on D, as features count
    them); None means all history up to D, like 'lifetime'.
    """

    function: str
    types: tuple[str, ...]
    where: Node | None = None
    window: str | None = None


@dataclass(frozen=True)
class AudienceRef(Node):
    """``in_audience('vip')``: true for members of another audience."""

    name: str


def conjuncts(node: Node) -> tuple[Node, ...]:
    return node.items if isinstance(node, And) else (node,)


def fields_of(node: Node) -> set[str]:
    """Feature names a rule reads (not the event columns inside event functions)."""
    found: set[str] = set()

    def visit(n: Node) -> None:
        if isinstance(n, Field):
            found.add(n.name)
        elif not isinstance(n, EventCount):
            for child in n.children():
                visit(child)

    visit(node)
    return found


def event_counts(node: Node) -> list[EventCount]:
    """Distinct event functions of a rule, in order of appearance."""
    return list(dict.fromkeys(n for n in node.walk() if isinstance(n, EventCount)))


def audience_refs(node: Node) -> list[AudienceRef]:
    return [n for n in node.walk() if isinstance(n, AudienceRef)]


def like_regex(pattern: str) -> re.Pattern[str]:
    """SQL LIKE as a regex: % any text, _ one character, no escape character (as in DuckDB)."""
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.DOTALL)
