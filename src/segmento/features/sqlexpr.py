"""A small SQL expression language for user features, translated to Ibis (sqlexpr_ibis.py).

Analysts write conditions (``category = 'tennis' and size = '43'``) and formulas
(``spend_12m / nullif(orders_12m, 0)``) in the project file. We parse them with
sqlglot and build Ibis expressions ourselves instead of passing SQL text to an
engine: names are checked against the real columns (with a 'did you mean'), types
are checked by Ibis before anything runs, and the result is engine-neutral.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from segmento.errors import SegmentoError
from segmento.features.names import did_you_mean

if TYPE_CHECKING:
    import ibis.expr.types as ir


class SqlExprError(SegmentoError):
    """An expression that cannot be used; the message has no location (callers add it)."""


class UnknownName(SqlExprError):
    """A name that is not a column, with the closest valid one in the message."""

    def __init__(self, name: str, valid: list[str], kind: str = "column") -> None:
        self.name, self.valid, self.kind = name, valid, kind
        super().__init__(f"unknown {kind} {name!r}{did_you_mean(name, valid)}")


BINARY: dict[type[exp.Expression], Callable[[ir.Value, ir.Value], ir.Value]] = {
    exp.Add: operator.add,
    exp.Sub: operator.sub,
    exp.Mul: operator.mul,
    exp.Div: operator.truediv,
    exp.Mod: operator.mod,
    exp.EQ: operator.eq,
    exp.NEQ: operator.ne,
    exp.GT: operator.gt,
    exp.GTE: operator.ge,
    exp.LT: operator.lt,
    exp.LTE: operator.le,
    exp.And: operator.and_,
    exp.Or: operator.or_,
}
METHODS = {  # one-argument functions: sqlglot node -> Ibis method name
    exp.Abs: "abs",
    exp.Sqrt: "sqrt",
    exp.Ln: "ln",
    exp.Exp: "exp",
    exp.Floor: "floor",
    exp.Ceil: "ceil",
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Length: "length",
    exp.ArraySize: "length",
}
ALIASES = {"cardinality": "length", "array_length": "length"}
CAST_TYPES = {
    "INT": "int64", "BIGINT": "int64", "SMALLINT": "int64", "TINYINT": "int64",
    "DOUBLE": "float64", "FLOAT": "float64", "DECIMAL": "float64",
    "VARCHAR": "string", "TEXT": "string", "CHAR": "string",
    "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp",
}  # fmt: skip
FUNCTIONS = sorted(
    {"coalesce", "nullif", "greatest", "least", "round", "if", "iif", "array_contains", "cast", *ALIASES}
    | {cls.key for cls in METHODS if cls is not exp.ArraySize}
)


def parse(text: str) -> exp.Expression:
    """Parse one SQL expression; a syntax error becomes a one-line SqlExprError."""
    try:
        tree = sqlglot.parse_one(text)
    except sqlglot.errors.ParseError as exc:
        detail = exc.errors[0]["description"] if exc.errors else str(exc).splitlines()[0]
        raise SqlExprError(f"cannot parse {text!r}: {detail}") from None
    if isinstance(tree, (exp.Select, exp.Query)) or tree is None:
        raise SqlExprError(f"{text!r} is a query; write a single expression")
    return tree


def names_in(text: str) -> list[str]:
    """The column names an expression refers to, in order of appearance."""
    return list(_names_in(text))


@lru_cache(maxsize=1024)
def _names_in(text: str) -> tuple[str, ...]:
    """Parsed once per text: an alert's reason asks for its rule's fields once per alert (44k at 1M)."""
    return tuple(dict.fromkeys(column.name for column in parse(text).find_all(exp.Column)))
