"""The Ibis side of the feature expression language: a parsed sqlglot tree to an Ibis value
(kept apart from sqlexpr.py, so that reading rules in the project file does not load Ibis)."""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
from sqlglot import exp

from segmento.features.sqlexpr import (
    ALIASES, BINARY, CAST_TYPES, FUNCTIONS, METHODS, SqlExprError, UnknownName, parse,
)


def compile_sql(text: str, columns: Mapping[str, ir.Value], kind: str = "column") -> ir.Value:
    """Build the Ibis expression for ``text``, whose names are keys of ``columns``."""
    return Translator(columns, kind).visit(parse(text))


class Translator:
    """Visits a parsed expression, checking names against ``columns`` and types through Ibis."""

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
        if type(node) in BINARY:
            args += [self.visit(node.left), self.visit(node.right)]
            return BINARY[type(node)](*args)
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
            if target not in CAST_TYPES:
                raise SqlExprError(f"cannot cast to {node.to.sql()}; use one of int, double, varchar, boolean, date")
            args.append(self.visit(node.this))
            return args[0].cast(CAST_TYPES[target])
        if type(node) in METHODS:
            args.append(self.visit(node.this))
            return getattr(args[0], METHODS[type(node)])()
        if isinstance(node, exp.Anonymous) and node.name.lower() in ALIASES:
            args += [self.visit(e) for e in node.expressions]
            return getattr(args[0], ALIASES[node.name.lower()])()
        if isinstance(node, (exp.Func, exp.Anonymous)):
            name = node.name if isinstance(node, exp.Anonymous) else node.key
            raise SqlExprError(f"unknown function {name!r}; supported: {', '.join(FUNCTIONS)}")
        raise SqlExprError(f"unsupported SQL in {node.sql()!r}")
