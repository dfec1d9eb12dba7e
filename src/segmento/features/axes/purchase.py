"""Purchase behaviour axis: RFM over configurable windows and the BTYD summary.

The BTYD columns follow the ``lifetimes`` package (summary_data_from_transaction_data,
freq='D', observation_period_end=D): orders are grouped by customer and day, so
frequency = days with orders - 1, recency = days from first to last such day, T =
days from the first to D, monetary_value = mean day total over the days after the
first one (0 when there is none). Customers without orders get nulls (lifetimes
leaves them out).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segmento.features.asof import LIFETIME, Window
from segmento.features.model import Context, Feature, Windows, counted, during

AXIS = "purchase"


def n_orders(window: Window) -> tuple[str, object]:
    """The shared 'orders in window' partial (also the denominator of order shares)."""
    return f"_o_n_{window.label}", lambda ctx, r: r.count(where=ctx.as_of.within(r.ordered_at, window))


def spend(window: Window) -> tuple[str, object]:
    """The shared 'amount paid in window' partial."""
    return f"_o_spend_{window.label}", lambda ctx, r: r.amount.sum(where=ctx.as_of.within(r.ordered_at, window))


def _btyd(name: str, description: str, value: object) -> Feature:
    def partials(ctx: Context, d: ibis.Table) -> dict[str, ir.Scalar]:
        return {
            "_od_days": d.count(),
            "_od_first": d.day.min(),
            "_od_last": d.day.max(),
            "_od_total": d.total.sum(),
            "_od_first_total": d.total.argmin(d.day),
        }

    unit = "" if name == "btyd_monetary_value" else "days"
    return Feature(name, AXIS, description, unit, "float64", "orders_daily", partials=partials, value=value)


def _monetary(ctx: Context, t: ibis.Table) -> ir.FloatingValue:
    repeat = (t._od_total - t._od_first_total) / (t._od_days - 1).nullif(0)
    return ibis.cases((t._od_days > 1, repeat), (t._od_days == 1, 0.0), else_=ibis.null("float64")).cast("float64")


def features(windows: Windows, categories: tuple[str, ...] | None) -> list[Feature]:
    out: list[Feature] = []
    for window in dict.fromkeys([*windows.rfm, Window(LIFETIME)]):
        label = window.label
        out.append(counted(f"orders_{label}", AXIS, f"Orders placed {during(window)}", "orders", "int64", "orders",
                           window, *n_orders(window)))
        out.append(counted(f"spend_{label}", AXIS, f"Amount paid {during(window)}", "currency", "float64",
                           "orders", window, *spend(window)))
    lifetime = Window(LIFETIME)
    (n_key, n_fn), (s_key, s_fn) = n_orders(lifetime), spend(lifetime)
    out += [
        Feature("avg_basket", AXIS, "Average amount per order, ever (null without orders)", "currency", "float64",
                "orders", partials=lambda ctx, r: {n_key: n_fn(ctx, r), s_key: s_fn(ctx, r)},
                value=lambda ctx, t: (t[s_key] / t[n_key].nullif(0)).cast("float64")),
        Feature("recency_days", AXIS, "Days since the last order (null without orders)", "days", "int64", "orders",
                partials=lambda ctx, r: {"_o_last": r.ordered_at.max()},
                value=lambda ctx, t: ctx.as_of.days_since(t._o_last.date())),
        Feature("first_order_days", AXIS, "Days since the first order (null without orders)", "days", "int64",
                "orders", partials=lambda ctx, r: {"_o_first": r.ordered_at.min()},
                value=lambda ctx, t: ctx.as_of.days_since(t._o_first.date())),
        _btyd("btyd_frequency", "BTYD frequency: days with orders after the first one (lifetimes)",
              lambda ctx, t: (t._od_days - 1).cast("float64")),
        _btyd("btyd_recency", "BTYD recency: days between the first and the last order day (lifetimes)",
              lambda ctx, t: t._od_last.delta(t._od_first, unit="day").cast("float64")),
        _btyd("btyd_T", "BTYD T: days between the first order day and D (lifetimes)",
              lambda ctx, t: ctx.as_of.days_since(t._od_first).cast("float64")),
        _btyd("order_interval_days", "Usual days between orders: mean gap between order days (null below two)",
              lambda ctx, t: (t._od_last.delta(t._od_first, unit="day") / (t._od_days - 1).nullif(0)).cast("float64")),
        _btyd("btyd_monetary_value", "BTYD monetary value: mean day total after the first order day (lifetimes)",
              _monetary),
    ]  # fmt: skip
    return out
