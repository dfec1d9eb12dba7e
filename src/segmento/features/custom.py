"""User features: declared in segmento.yaml (aggregates and derived formulas) or in Python.

    features:
      windows: {rfm: [30d, 90d, 12m], period: 12m}
      custom:
        - name: tennis_spend_12m            # an aggregate over a table
          axis: product
          unit: currency
          table: order_lines                # orders | order_lines | events
          aggregation: sum                  # count | sum | mean | min | max | count_distinct
          column: spend                     # order_lines also carry customer_id, ordered_at, channel, spend
          where: category = 'tennis'        # SQL condition over the table's columns
          window: 12m                       # 30d, 6w, 12m, 2y or lifetime (default)
        - name: tennis_share_12m            # a formula over other features
          expr: tennis_spend_12m / nullif(spend_12m, 0)

YAML aggregates join the built-in group-by of their table, so they cost no extra
scan. Every definition is checked before anything runs; errors name the feature,
the file and line, and the closest valid name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from segmento.features.settings import FEATURE_NAME_PATTERN, CustomFeature
from segmento.settings import ConfigError
from segmento.features.asof import AsOf, Window, both
from segmento.features.model import Context, Feature, Windows
from segmento.features.names import did_you_mean
from segmento.features.sources import TIME_COLUMNS, PointInTime
from segmento.features.sqlexpr import SqlExprError, UnknownName, names_in
from segmento.features.sqlexpr_ibis import compile_sql

if TYPE_CHECKING:
    from segmento.config import Project


class FeatureError(ConfigError):
    """A feature that cannot be defined or computed; says which one and where it is written."""


# ---------------------------------------------------------------- Python features

_REGISTERED: dict[str, Feature] = {}


def feature(
    name: str, axis: str = "custom", description: str = "", unit: str = "", dtype: str = "unknown"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a Python feature computed by ``fn(tables, as_of)``.

    ``tables`` holds the point-in-time tables (``tables.orders``, ``tables.events``...,
    nothing after D) and ``as_of`` the AsOf (``as_of.day``). Return an Ibis table with
    ``customer_id`` and one value column, or a column expression over ``tables.customers``::

        @segmento.features.feature(name="tennis_views", axis="interests")
        def tennis_views(tables, as_of):
            e = tables.events
            return e.group_by("customer_id").aggregate(n=e.count(where=e.category == "tennis"))
    """
    if not re.fullmatch(FEATURE_NAME_PATTERN, name):
        raise FeatureError(f"bad feature name {name!r}: use lowercase letters, digits and _, starting with a letter")

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        code = function.__code__
        where = f"{code.co_filename}, line {code.co_firstlineno}"
        _REGISTERED[name] = Feature(name, axis, description, unit, dtype, "python", where, function=function)
        return function

    return register


def unregister(name: str) -> None:
    """Forget a Python feature (tests, notebooks)."""
    _REGISTERED.pop(name, None)


def python_features() -> list[Feature]:
    return list(_REGISTERED.values())


def python_table(spec: Feature, tables: PointInTime, column: str) -> ibis.Table:
    """customer_id + the Python feature's value as ``column``."""
    result = spec.function(tables, tables.as_of)
    if isinstance(result, ir.Table):
        values = [c for c in result.columns if c != "customer_id"]
        if "customer_id" in result.columns and len(values) == 1:
            return result.select("customer_id", **{column: result[values[0]]})
        got = ", ".join(result.columns)
    elif isinstance(result, ir.Value):
        return tables.customers.select("customer_id", **{column: result})
    else:
        got = type(result).__name__
    raise FeatureError(
        f"{spec.defined_at}: feature {spec.name!r}: return a table with customer_id and one value column, "
        f"or a column of tables.customers (got {got})"
    )


# ------------------------------------------------------------------ YAML features

_PROBE = Context(AsOf.of(date(2000, 1, 1)), Windows.of())  # to check expressions without data


def yaml_features(project: Project | None) -> list[Feature]:
    """The project's custom features, checked (derived ones are typed later, see order_derived)."""
    if project is None:
        return []
    out = []
    for index, spec in enumerate(project.features.custom):
        loc = ("features", "custom", index)
        out.append(_derived(spec, project, loc) if spec.expr is not None else _aggregate(spec, project, loc))
    return out


def _aggregate(spec: CustomFeature, project: Project, loc: tuple[Any, ...]) -> Feature:
    def fail(key: str, message: str) -> FeatureError:
        return FeatureError(f"{project.where(*loc, key)}: feature {spec.name!r}: {message}")

    rows = PointInTime(None, _PROBE.as_of).table(spec.table)
    valid = list(rows.columns)
    listing = f" (columns of {spec.table}: {', '.join(valid)})"
    if spec.column is not None and spec.column not in valid:
        raise fail("column", f"unknown column {spec.column!r}{did_you_mean(spec.column, valid)}{listing}")
    if spec.column is not None and spec.aggregation in ("sum", "mean"):
        kind = rows[spec.column].type()
        if not (kind.is_numeric() or kind.is_boolean()):
            raise fail("column", f"cannot {spec.aggregation} column {spec.column!r} of type {kind}")
    if spec.where is not None:
        try:
            condition = compile_sql(spec.where, {c: rows[c] for c in valid})
        except UnknownName as exc:
            hint = did_you_mean(exc.name, valid)
            raise fail("where", f"unknown column {exc.name!r} in where{hint}{listing}") from None
        except SqlExprError as exc:
            raise fail("where", f"in where: {exc}") from None
        if not condition.type().is_boolean():
            raise fail("where", f"where must be a true/false condition, not {condition.type()}")

    window, key = Window.parse(spec.window), f"_u_{spec.name}"

    def partials(ctx: Context, r: ibis.Table) -> dict[str, ir.Scalar]:
        condition = compile_sql(spec.where, {c: r[c] for c in r.columns}) if spec.where else None
        condition = both(condition, ctx.as_of.within(r[TIME_COLUMNS[spec.table]], window))
        return {key: _aggregation(spec, r, condition)}

    additive = spec.aggregation in ("count", "count_distinct", "sum")
    dtype = str(partials(_PROBE, rows)[key].type())
    return Feature(
        spec.name, spec.axis, spec.description, spec.unit, dtype, spec.table, project.where(*loc), partials=partials,
        value=(lambda ctx, t: t[key].fill_null(0)) if additive else (lambda ctx, t: t[key]), window=window,
    )  # fmt: skip


def _aggregation(spec: CustomFeature, rows: ibis.Table, condition: ir.BooleanValue | None) -> ir.Scalar:
    if spec.column is None:
        return rows.count(where=condition)
    column = rows[spec.column]
    if spec.aggregation == "count":
        return column.count(where=condition)
    if spec.aggregation == "count_distinct":
        return column.nunique(where=condition)
    if spec.aggregation in ("sum", "mean") and column.type().is_boolean():
        column = column.cast("int64")
    return getattr(column, spec.aggregation)(where=condition)


def _derived(spec: CustomFeature, project: Project, loc: tuple[Any, ...]) -> Feature:
    where = project.where(*loc, "expr")
    try:
        depends = tuple(names_in(spec.expr))
    except SqlExprError as exc:
        raise FeatureError(f"{where}: feature {spec.name!r}: in expr: {exc}") from None
    return Feature(
        spec.name, spec.axis, spec.description or spec.expr, spec.unit, "unknown", "derived", where,
        value=lambda ctx, t: compile_sql(spec.expr, {c: t[c] for c in t.columns}, kind="feature"),
        depends=depends,
    )  # fmt: skip


def derived_value(spec: Feature, ctx: Context, table: ibis.Table) -> ir.Value:
    """A derived feature over ``table``, errors located at its definition."""
    try:
        return spec.value(ctx, table)
    except UnknownName as exc:
        raise FeatureError(
            f"{spec.defined_at}: feature {spec.name!r}: unknown feature {exc.name!r} in expr"
            f"{did_you_mean(exc.name, [c for c in table.columns if c != spec.name])}"
        ) from None
    except SqlExprError as exc:
        raise FeatureError(f"{spec.defined_at}: feature {spec.name!r}: in expr: {exc}") from None


def order_derived(features: list[Feature], pending: Callable[[str], bool] = lambda name: False) -> list[Feature]:
    """Derived features in computing order, typed; unknown references and cycles are errors.

    ``pending(name)`` accepts names that exist only once data is seen (share_cat_*).
    """
    by_name = {f.name: f for f in features}
    derived = {f.name: f for f in features if f.source == "derived"}
    for spec in derived.values():
        for name in spec.depends:
            if name not in by_name and not pending(name):
                valid = [n for n in by_name if n != spec.name]
                raise FeatureError(
                    f"{spec.defined_at}: feature {spec.name!r}: unknown feature {name!r} in expr"
                    f"{did_you_mean(name, valid)}"
                )
    ordered: list[Feature] = []
    state: dict[str, str] = {}  # name -> 'visiting' | 'done'

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done" or name not in derived:
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name) :] + [name]
            first = derived[cycle[0]]
            chain = " -> ".join(cycle)
            raise FeatureError(f"{first.defined_at}: feature {first.name!r} is defined in a cycle: {chain}")
        state[name] = "visiting"
        for dependency in derived[name].depends:
            visit(dependency, [*path, name])
        state[name] = "done"
        ordered.append(derived[name])

    for name in derived:
        visit(name, [])
    return _typed(ordered, by_name, pending)


def _typed(ordered: list[Feature], by_name: dict[str, Feature], pending: Callable[[str], bool]) -> list[Feature]:
    """Give derived features their type by building them over an empty typed table (skipped if a type is unknown)."""
    dtypes = {name: f.dtype for name, f in by_name.items()}
    out = []
    for spec in ordered:
        needed = {n: ("float64" if pending(n) and n not in dtypes else dtypes[n]) for n in spec.depends}
        if "unknown" not in needed.values():
            probe = ibis.table({"customer_id": "string", **needed}, name="features")
            spec = replace(spec, dtype=str(derived_value(spec, _PROBE, probe).type()))
        dtypes[spec.name] = spec.dtype
        out.append(spec)
    return out
