"""Product consumption axis: what the customer buys, from order lines over the period window.

Spend is quantity x unit price. Categories become columns share_cat_<slug>; names
that share a slug ('Tennis', 'tennis') share a column and count as one category.
The categories are those of lines of orders at or before D, so an order after D
cannot add a column either. Everything here comes from one conditional sum per
category: a COUNT(DISTINCT) would cost more than all the sums together.
"""

from __future__ import annotations

from collections import defaultdict

import ibis
import ibis.expr.types as ir

from segmento.features.asof import Window
from segmento.features.model import Context, Feature, Windows, during, share
from segmento.features.names import slug

AXIS = "product"
FAMILY = "share_cat_<slug>"


def slugs(categories: tuple[str, ...]) -> dict[str, list[str]]:
    """slug -> the category names it stands for, in slug order."""
    groups: dict[str, list[str]] = defaultdict(list)
    for category in sorted(categories):
        groups[slug(category)].append(category)
    return dict(sorted(groups.items()))


def _spend_partials(ctx: Context, lines: ibis.Table) -> dict[str, ir.Scalar]:
    """Line spend in the period, in total and per category slug (shared by shares and top category)."""
    period = ctx.windows.period
    inside = ctx.as_of.within(lines.ordered_at, period)
    out = {f"_l_spend_{period.label}": lines.spend.sum(where=inside)}
    for key, names in slugs(ctx.categories).items():
        condition = lines.category.isin(names)
        out[f"_l_cat_{key}_{period.label}"] = lines.spend.sum(where=condition if inside is None else inside & condition)
    return out


def _sums(ctx: Context, t: ibis.Table) -> dict[str, ir.NumericValue]:
    label = ctx.windows.period.label
    return {key: t[f"_l_cat_{key}_{label}"].fill_null(0) for key in slugs(ctx.categories)}


def _n_categories(ctx: Context, t: ibis.Table) -> ir.IntegerValue:
    """Categories with at least one line in the period (a sum over no line is null, over free items 0)."""
    label = ctx.windows.period.label
    bought = [t[f"_l_cat_{key}_{label}"].notnull().cast("int64") for key in slugs(ctx.categories)]
    return sum(bought[1:], bought[0]) if bought else ibis.literal(0, type="int64")


def _best(ctx: Context, t: ibis.Table) -> dict[str, ir.Value]:
    """The largest category spend, computed once per customer (not once per comparison)."""
    sums = list(_sums(ctx, t).values())
    best = ibis.greatest(*sums) if len(sums) > 1 else (sums[0] if sums else ibis.literal(0.0))
    return {f"_l_best_{ctx.windows.period.label}": best}


def _top(ctx: Context, t: ibis.Table) -> ir.StringValue:
    """The category with the most spend (ties: first in alphabetical order), null without spend."""
    label, groups = ctx.windows.period.label, slugs(ctx.categories)
    if not groups:
        return ibis.null("string")
    sums, best = _sums(ctx, t), t[f"_l_best_{label}"]
    ordered = sorted(groups, key=lambda key: groups[key][0])
    top = ibis.cases(*[(sums[key] == best, groups[key][0]) for key in ordered], else_=ibis.null("string"))
    return ibis.ifelse(t[f"_l_spend_{label}"].fill_null(0) > 0, top, ibis.null("string"))


def _share_feature(key: str, period: Window, description: str) -> Feature:
    return Feature(
        f"share_cat_{key}", AXIS, description, "share", "float64", "order_lines", partials=_spend_partials,
        value=lambda ctx, t: share(t[f"_l_cat_{key}_{period.label}"], t[f"_l_spend_{period.label}"]), window=period,
    )  # fmt: skip


def features(windows: Windows, categories: tuple[str, ...] | None) -> list[Feature]:
    period = windows.period
    label = period.label
    out = [
        Feature(f"n_categories_{label}", AXIS, f"Distinct categories bought {during(period)}", "categories",
                "int64", "order_lines", partials=_spend_partials, value=_n_categories, window=period),
        Feature(f"top_category_{label}", AXIS, f"Category with the most spend {during(period)}", "", "string",
                "order_lines", partials=_spend_partials, value=_top, window=period, helpers=_best),
    ]  # fmt: skip
    if categories is None:
        out.append(_share_feature("<slug>", period, f"Share of line spend {during(period)} in each category"))
        return out
    for key, names in slugs(categories).items():
        description = f"Share of line spend {during(period)} in {' / '.join(names)}"
        out.append(_share_feature(key, period, description))
    return out
