"""The knowledge base as it was at the end of D: every table cut at the as-of instant.

This is the only module that applies the point-in-time filter, so "nothing after D
is visible" is checked in one place. It works on a live backend or, for validating
user definitions before anything runs, on unbound tables built from the schema.

Each table handed to a group-by is ONE filter over the stored table (never a filter
over a shared filtered table): engines such as DuckDB materialise a subexpression
used twice as a CTE, which for 60M events would mean copying them all to memory.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmento.features.asof import AsOf
from segmento.features.model import exact_sum
from segmento.store.schema import TABLES

# The time column each aggregatable table is cut and windowed on.
TIME_COLUMNS = {
    "orders": "ordered_at",
    "order_lines": "ordered_at",
    "events": "occurred_at",
    "intent_events": "occurred_at",
    "consents": "recorded_at",
}
# Order columns copied onto each line, so line features can use them.
LINE_ORDER_COLUMNS = ("customer_id", "ordered_at", "channel")
INTENT_EVENTS = ("product_view", "search", "add_to_cart")
# The knowledge-base tables each source reads, where they are not the source's own name.
SOURCE_TABLES = {"orders_daily": ("orders",), "order_lines": ("order_lines", "orders"), "intent_events": ("events",)}

Condition = Callable[[ibis.Table], ir.BooleanValue]


def _intent(events: ibis.Table) -> ir.BooleanValue:
    return events.type.isin(INTENT_EVENTS) & events.category.notnull()


class PointInTime:
    """Point-in-time views of the knowledge-base tables (what features aggregate over)."""

    def __init__(self, con: BaseBackend | None, as_of: AsOf) -> None:
        self.con = con
        self.as_of = as_of

    def _raw(self, name: str) -> ibis.Table:
        if self.con is None:
            return ibis.table(TABLES[name].schema, name=name)
        return self.con.table(name)

    def _cut(self, table: ibis.Table, column: str, since: datetime | None, *more: Condition) -> ibis.Table:
        """``table`` at or before D, at or after ``since``, meeting ``more``: a single filter."""
        predicates = [self.as_of.visible(table[column]), *(condition(table) for condition in more)]
        if since is not None:
            predicates.append(table[column] >= ibis.timestamp(since))
        return table.filter(*predicates)

    @cached_property
    def customers(self) -> ibis.Table:
        """Customers who had signed up by D."""
        t = self._raw("customers")
        return t.filter(t.signup_date <= ibis.date(self.as_of.day))

    @cached_property
    def orders(self) -> ibis.Table:
        return self.table("orders")

    @cached_property
    def orders_daily(self) -> ibis.Table:
        """One row per customer and day with orders: the 'period' of the BTYD summary."""
        return self.table("orders_daily")

    @cached_property
    def order_lines(self) -> ibis.Table:
        """Lines of visible orders, with the order's customer, time and channel, and spend = quantity x price."""
        return self.table("order_lines")

    @cached_property
    def events(self) -> ibis.Table:
        return self.table("events")

    @cached_property
    def intent_events(self) -> ibis.Table:
        """Events that show interest in a category: product views, searches, add-to-carts."""
        return self.table("intent_events")

    @cached_property
    def consents(self) -> ibis.Table:
        return self.table("consents")

    def table(self, name: str, since: datetime | None = None) -> ibis.Table:
        """A point-in-time table by name (customers, orders, orders_daily, order_lines, events, intent_events...).

        ``since`` also drops rows before that instant, when every feature read from the
        table looks back less far: fewer rows to join, and engines skip old row groups.
        """
        if name == "orders_daily":  # ``since`` at midnight keeps each day whole
            o = self._cut(self._raw("orders").select("customer_id", "ordered_at", "amount"), "ordered_at", since)
            return o.group_by(o.customer_id, day=o.ordered_at.date()).aggregate(total=exact_sum(o.amount))
        if name not in TIME_COLUMNS:
            return getattr(self, name)
        if name == "order_lines":
            orders = self._raw("orders").select("order_id", *LINE_ORDER_COLUMNS)
            joined = self._raw("order_lines").join(self._cut(orders, "ordered_at", since), "order_id")
            return joined.mutate(spend=joined.quantity * joined.unit_price)
        if name == "intent_events":
            return self._cut(self._raw("events"), "occurred_at", since, _intent)
        return self._cut(self._raw(name), TIME_COLUMNS[name], since)
