"""What a feature is: a name, an axis, a description, a unit, and how to compute it.

A feature is computed in two steps so that each source table is aggregated once per
as-of date: ``partials`` are named aggregates over a point-in-time table (every
feature reading ``orders`` adds its partials to the same group-by), and ``value``
turns the partials, joined per customer, into the feature (filling 0 for counts,
dividing for shares...). Partials with the same key are the same aggregate, shared.
``helpers`` are optional per-customer columns computed once between the two steps
(e.g. the largest category spend, which several comparisons read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

from segmento.features.settings import FeatureWindows
from segmento.features.asof import LIFETIME, AsOf, Window

# Where a feature's partials are aggregated: a point-in-time table (see sources.py),
# or 'customers' (a profile column, no aggregation), 'derived' (a formula over other
# features) or 'python' (a user function returning its own per-customer table).
AGGREGATED_SOURCES = ("orders", "orders_daily", "order_lines", "events", "intent_events", "consents")
# Float sums are added as decimals with 12 places (exact, so in any order) and read back as floats
EXACT = dt.Decimal(38, 12)


@dataclass(frozen=True)
class Windows:
    """The configured look-back windows, parsed."""

    rfm: tuple[Window, ...]
    social: tuple[Window, ...]
    service: tuple[Window, ...]
    interests: tuple[Window, ...]
    period: Window

    @classmethod
    def of(cls, config: FeatureWindows | None = None) -> Windows:
        config = config or FeatureWindows()

        def parse(labels: list[str]) -> tuple[Window, ...]:
            return tuple(Window.parse(label) for label in dict.fromkeys(labels))

        return cls(
            parse(config.rfm),
            parse(config.social),
            parse(config.service),
            parse(config.interests),
            Window.parse(config.period),
        )


@dataclass(frozen=True)
class Context:
    """What feature expressions need besides their table: D, the windows, the categories."""

    as_of: AsOf
    windows: Windows
    categories: tuple[str, ...] = ()


Partials = Callable[[Context, ibis.Table], dict[str, ir.Scalar]]
ValueFn = Callable[[Context, ibis.Table], ir.Value]


@dataclass(frozen=True)
class Feature:
    """One feature of the catalog."""

    name: str
    axis: str
    description: str
    unit: str
    dtype: str
    source: str
    defined_at: str = "built-in"
    partials: Partials | None = field(default=None, repr=False, compare=False)
    value: ValueFn | None = field(default=None, repr=False, compare=False)
    depends: tuple[str, ...] = ()
    function: Callable[..., Any] | None = field(default=None, repr=False, compare=False)
    window: Window = Window(LIFETIME)  # the longest look-back the partials read: older rows are skipped
    helpers: Partials | None = field(default=None, repr=False, compare=False)  # per-customer columns, after the join


def counted(
    name: str, axis: str, description: str, unit: str, dtype: str, source: str, window: Window, key: str,
    aggregate: Callable[[Context, ibis.Table], ir.Scalar],
) -> Feature:  # fmt: skip
    """A count or a sum over a table within ``window``: 0 when nothing happened."""
    return Feature(
        name, axis, description, unit, dtype, source, window=window,
        partials=lambda ctx, rows: {key: aggregate(ctx, rows)},
        value=lambda ctx, t: t[key].fill_null(0),
    )  # fmt: skip


def share(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """numerator / denominator, null when the denominator is 0 or missing."""
    return (numerator.fill_null(0) / denominator.nullif(0)).cast("float64")


def during(window: Window) -> str:
    """'in the last 90 days' for descriptions."""
    if window.label == LIFETIME:
        return "ever (up to D)"
    count, unit = int(window.label[:-1]), {"d": "day", "w": "week", "m": "month", "y": "year"}[window.label[-1]]
    return f"in the last {count} {unit}{'s' if count > 1 else ''}"


def exact_sum(value: ir.NumericValue, where: ir.BooleanValue | None = None) -> ir.FloatingValue:
    """The sum of float values, the same whatever order the engine adds the rows in (threads, engines, slices
    of time): each value rounded to 12 decimals, added exactly, the total read back as a float."""
    return value.cast(EXACT).sum(where=where).cast(value.type())


def exact_sums(partials: dict[str, ir.Scalar]) -> dict[str, ir.Scalar]:
    """The partials with every float sum made exact (see ``exact_sum``)."""
    out = {}
    for key, expr in partials.items():
        op = expr.op()
        exact = isinstance(op, ops.Sum) and op.arg.dtype.is_floating()
        out[key] = exact_sum(op.arg.to_expr(), None if op.where is None else op.where.to_expr()) if exact else expr
    return out
