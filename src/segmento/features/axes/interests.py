"""Interests and intent axis: what the customer looked at, searched or put in a cart lately.

Lists are sorted and distinct, empty (not null) when nothing happened. interest_sizes
keeps the size with the category ('hiking shoes:43'), for "offers in my size".
They read ``intent_events`` (a narrow cut of events) in their own group-by: distinct
lists are costly per row, so they only see the few recent intent rows.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from segmento.features.asof import Window
from segmento.features.model import Context, Feature, Windows, during

AXIS = "interests"
EMPTY = ibis.literal([], type="array<string>")


def _collected(name: str, description: str, window: Window, item: Callable[[ibis.Table], ir.Value]) -> Feature:
    key = f"_e_{name}"

    def partials(ctx: Context, e: ibis.Table) -> dict[str, ir.Scalar]:
        return {key: item(e).collect(where=ctx.as_of.within(e.occurred_at, window), distinct=True).sort()}

    return Feature(name, AXIS, description, "categories", "array<string>", "intent_events", partials=partials,
                   value=lambda ctx, t: ibis.coalesce(t[key], EMPTY), window=window)  # fmt: skip


def _category_size(e: ibis.Table) -> ir.StringValue:
    known = e.category.notnull() & e.size.notnull()
    return ibis.ifelse(known, e.category.concat(":", e.size), ibis.null("string"))


def features(windows: Windows, categories: tuple[str, ...] | None) -> list[Feature]:
    out = []
    for w in windows.interests:
        out.append(_collected(f"interests_{w.label}", f"Categories viewed, searched or carted {during(w)}", w,
                              lambda e: e.category))  # fmt: skip
        out.append(_collected(f"interest_sizes_{w.label}", f"'category:size' viewed, searched or carted {during(w)}",
                              w, _category_size))  # fmt: skip
    return out
