"""Promo sensitivity axis: how much of the buying happens with a discount (discount_amount > 0)."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from segmento.features.asof import both
from segmento.features.axes.purchase import n_orders, spend
from segmento.features.model import Context, Feature, Windows, during, share

AXIS = "promo"


def features(windows: Windows, categories: tuple[str, ...] | None) -> list[Feature]:
    period = windows.period
    label = period.label
    (n_key, n_fn), (s_key, s_fn) = n_orders(period), spend(period)

    def partials(ctx: Context, r: ibis.Table) -> dict[str, ir.Scalar]:
        discounted = both(r.discount_amount > 0, ctx.as_of.within(r.ordered_at, period))
        return {
            n_key: n_fn(ctx, r),
            s_key: s_fn(ctx, r),
            f"_o_promo_n_{label}": r.count(where=discounted),
            f"_o_promo_spend_{label}": r.amount.sum(where=discounted),
        }

    return [
        Feature(f"promo_order_share_{label}", AXIS, f"Share of orders with a discount {during(period)}", "share",
                "float64", "orders", partials=partials, window=period,
                value=lambda ctx, t: share(t[f"_o_promo_n_{label}"], t[n_key])),
        Feature(f"promo_spend_share_{label}", AXIS, f"Share of spend on orders with a discount {during(period)}",
                "share", "float64", "orders", partials=partials, window=period,
                value=lambda ctx, t: share(t[f"_o_promo_spend_{label}"], t[s_key])),
    ]  # fmt: skip
