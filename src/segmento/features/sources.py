"""The knowledge base as it was at the end of D: every table cut at the as-of instant.

This is the only module that applies the point-in-time filter, so "nothing after D
is visible" is checked in one place. It works on a live backend or, for validating
user definitions before anything runs, on unbound tables built from the schema.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

import ibis
from ibis.backends import BaseBackend

from segmento.features.asof import AsOf
from segmento.store.schema import TABLES

# Order columns copied onto each line, so line features can use them.
LINE_ORDER_COLUMNS = ("customer_id", "ordered_at", "channel")
INTENT_EVENTS = ("product_view", "search", "add_to_cart")


class PointInTime:
    """Point-in-time views of the knowledge-base tables (what features aggregate over)."""

    def __init__(self, con: BaseBackend | None, as_of: AsOf) -> None:
        self.con = con
        self.as_of = as_of

    def _raw(self, name: str) -> ibis.Table:
        if self.con is None:
            return ibis.table(TABLES[name].schema, name=name)
        return self.con.table(name)

    @cached_property
    def customers(self) -> ibis.Table:
        """Customers who had signed up by D."""
        t = self._raw("customers")
        return t.filter(t.signup_date <= ibis.date(self.as_of.day))

    @cached_property
    def orders(self) -> ibis.Table:
        t = self._raw("orders")
        return t.filter(self.as_of.visible(t.ordered_at))

    def _since(self, table: ibis.Table, column: str, since: datetime | None) -> ibis.Table:
        return table if since is None else table.filter(table[column] >= ibis.timestamp(since))

    @cached_property
    def orders_daily(self) -> ibis.Table:
        """One row per customer and day with orders: the 'period' of the BTYD summary."""
        o = self.orders
        return o.group_by(o.customer_id, day=o.ordered_at.date()).aggregate(total=o.amount.sum())

    @cached_property
    def order_lines(self) -> ibis.Table:
        """Lines of visible orders, with the order's customer, time and channel, and spend = quantity x price."""
        return self._lines(None)

    def _lines(self, since: datetime | None) -> ibis.Table:
        lines = self._raw("order_lines")
        orders = self._since(self.orders, "ordered_at", since).select("order_id", *LINE_ORDER_COLUMNS)
        joined = lines.join(orders, "order_id")
        return joined.mutate(spend=joined.quantity * joined.unit_price)

    @cached_property
    def events(self) -> ibis.Table:
        t = self._raw("events")
        return t.filter(self.as_of.visible(t.occurred_at))

    @cached_property
    def intent_events(self) -> ibis.Table:
        """Events that show interest in a category: product views, searches, add-to-carts."""
        e = self.events
        return e.filter(e.type.isin(INTENT_EVENTS) & e.category.notnull())

    @cached_property
    def consents(self) -> ibis.Table:
        t = self._raw("consents")
        return t.filter(self.as_of.visible(t.recorded_at))

    def table(self, name: str, since: datetime | None = None) -> ibis.Table:
        """A point-in-time table by name (customers, orders, orders_daily, order_lines, events, intent_events...).

        ``since`` also drops rows before that instant, when every feature read from the
        table looks back less far: fewer rows to join, and engines skip old row groups.
        """
        if since is None or name not in TIME_COLUMNS:
            return getattr(self, name)
        if name == "order_lines":
            return self._lines(since)
        return self._since(getattr(self, name), TIME_COLUMNS[name], since)


# The time column each aggregatable table is windowed on.
TIME_COLUMNS = {
    "orders": "ordered_at",
    "order_lines": "ordered_at",
    "events": "occurred_at",
    "intent_events": "occurred_at",
    "consents": "recorded_at",
}
