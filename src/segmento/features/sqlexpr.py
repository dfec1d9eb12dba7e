"""A small SQL expression language for user features, translated to Ibis.

Analysts write conditions (``category = 'tennis' and size = '43'``) and formulas
(``spend_12m / nullif(orders_12m, 0)``) in the project file. We parse them with
sqlglot and build Ibis expressions ourselves instead of passing SQL text to an
engine: names are checked against the real columns (with a 'did you mean'), types
are checked by Ibis before anything runs, and the result is engine-neutral.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping

import ibis
import ibis.expr.types as ir
import sqlglot
from sqlglot import exp

from segmento.errors import SegmentoError
from segmento.features.names import did_you_mean


class SqlExprError(SegmentoError):
    """An expression that cannot be used; the message has no location (callers add it)."""


class UnknownName(SqlExprError):
    """A name that is not a column, with the closest valid one in the message."""

    def __init__(self, name: str, valid: list[str], kind: str = "column") -> None:
        self.name, self.valid, self.kind = name, valid, kind
        super().__init__(f"unknown {kind} {name!r}{did_you_mean(name, valid)}")


_BINARY: dict[type[exp.Expression], Callable[[ir.Value, ir.Value], ir.Value]] = {
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
_METHODS = {  # one-argument functions: sqlglot node -> Ibis method name
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
_ANONYMOUS = {"cardinality": "length", "array_length": "length"}
_TYPES = {
    "INT": "int64", "BIGINT": "int64", "SMALLINT": "int64", "TINYINT": "int64",
    "DOUBLE": "float64", "FLOAT": "float64", "DECIMAL": "float64",
    "VARCHAR": "string", "TEXT": "string", "CHAR": "string",
    "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp",
}  # fmt: skip
FUNCTIONS = sorted(
    {"coalesce", "nullif", "greatest", "least", "round", "if", "iif", "array_contains", "cast", *_ANONYMOUS}
    | {cls.key for cls in _METHODS if cls is not exp.ArraySize}
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
    return list(dict.fromkeys(column.name for column in parse(text).find_all(exp.Column)))


def compile_sql(text: str, columns: Mapping[str, ir.Value], kind: str = "column") -> ir.Value:
    """Build the Ibis expression for ``text``, whose names are keys of ``columns``."""
    return _Translator(columns, kind).visit(parse(text))


class _Translator:
    def __init__(self, columns: Mapping[str, ir.Value], kind: str) -> None:
        self.columns, self.kind = columns, kind

    def visit(self, node: exp.Expression) -> ir.Value:
        args = []
        try:
            return self._visit(node, args)
        except (SqlExprError, RecursionError):
            raise
        except Exception as exc:  # Ibis type errors: say which part and which types
            types = ", ".join(str(a.type()) for a in args if isinstance(a, ir.Value))
            detail = f" (operand types: {types})" if types else f" ({type(exc).__name__})"
            raise SqlExprError(f"type error in {node.sql()!r}{detail}") from None

    def _visit(self, node: exp.Expression, args: list) -> ir.Value:
        if isinstance(node, exp.Paren):
            return self.visit(node.this)
        if isinstance(node, exp.Column):
            if node.table:
                raise SqlExprError(f"write {node.name!r} without a table prefix ({node.sql()!r})")
            if node.name not in self.columns:
                raise UnknownName(node.name, list(self.columns), self.kind)
            return self.columns[node.name]
        if isinstance(node, exp.Literal):
            if node.is_string:
                return ibis.literal(node.this)
            number = float(node.this)
            if number.is_integer() and "." not in node.this and "e" not in node.this.lower():
                return ibis.literal(int(number), type="int64")
            return ibis.literal(number, type="float64")
        if isinstance(node, exp.Boolean):
            return ibis.literal(node.this)
        if isinstance(node, exp.Null):
            return ibis.null()
        if type(node) in _BINARY:
            args += [self.visit(node.left), self.visit(node.right)]
            return _BINARY[type(node)](*args)
        if isinstance(node, exp.Not):
            args.append(self.visit(node.this))
            return ~args[0]
        if isinstance(node, exp.Neg):
            args.append(self.visit(node.this))
            return -args[0]
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise SqlExprError(f"only IS NULL / IS NOT NULL are supported ({node.sql()!r})")
            args.append(self.visit(node.this))
            return args[0].isnull()
        if isinstance(node, exp.In):
            args += [self.visit(node.this), *(self.visit(e) for e in node.expressions)]
            return args[0].isin(args[1:])
        if isinstance(node, exp.Between):
            args += [self.visit(node.this), self.visit(node.args["low"]), self.visit(node.args["high"])]
            return args[0].between(args[1], args[2])
        if isinstance(node, (exp.Like, exp.ILike)):
            args += [self.visit(node.this), self.visit(node.expression)]
            return args[0].like(args[1]) if isinstance(node, exp.Like) else args[0].ilike(args[1])
        if isinstance(node, exp.Case):
            subject = self.visit(node.this) if node.this else None
            branches = []
            for when in node.args["ifs"]:
                condition = self.visit(when.this)
                branches.append((condition if subject is None else subject == condition, self.visit(when.args["true"])))
            default = node.args.get("default")
            return ibis.cases(*branches, else_=self.visit(default) if default else None)
        if isinstance(node, exp.If):
            false = node.args.get("false")
            args += [self.visit(node.this), self.visit(node.args["true"])]
            return ibis.ifelse(args[0], args[1], self.visit(false) if false else ibis.null(args[1].type()))
        if isinstance(node, (exp.Coalesce, exp.Greatest, exp.Least)):
            args += [self.visit(node.this), *(self.visit(e) for e in node.expressions)]
            function = {exp.Coalesce: ibis.coalesce, exp.Greatest: ibis.greatest, exp.Least: ibis.least}[type(node)]
            return function(*args)
        if isinstance(node, exp.Nullif):
            args += [self.visit(node.this), self.visit(node.expression)]
            return args[0].nullif(args[1])
        if isinstance(node, exp.Round):
            args.append(self.visit(node.this))
            digits = node.args.get("decimals")
            return args[0].round(int(digits.this) if digits is not None else 0)
        if isinstance(node, exp.ArrayContains):
            args += [self.visit(node.this), self.visit(node.expression)]
            return args[0].contains(args[1])
        if isinstance(node, exp.Cast):
            target = node.to.this.name if hasattr(node.to.this, "name") else str(node.to.this)
            if target not in _TYPES:
                raise SqlExprError(f"cannot cast to {node.to.sql()}; use one of int, double, varchar, boolean, date")
            args.append(self.visit(node.this))
            return args[0].cast(_TYPES[target])
        if type(node) in _METHODS:
            args.append(self.visit(node.this))
            return getattr(args[0], _METHODS[type(node)])()
        if isinstance(node, exp.Anonymous) and node.name.lower() in _ANONYMOUS:
            args += [self.visit(e) for e in node.expressions]
            return getattr(args[0], _ANONYMOUS[node.name.lower()])()
        if isinstance(node, (exp.Func, exp.Anonymous)):
            name = node.name if isinstance(node, exp.Anonymous) else node.key
            raise SqlExprError(f"unknown function {name!r}; supported: {', '.join(FUNCTIONS)}")
        raise SqlExprError(f"unsupported SQL in {node.sql()!r}")
