"""How erasure and access read the registry's ``customer_ref`` declarations.

Every table in ``store/registry.py`` says how its rows refer to a customer; a row is the
customer's when any part of its declaration matches:

- ``CustomerColumn(c)``: column ``c`` holds the customer id;
- ``ThroughParent(c, "orders", "order_id")``: column ``c`` holds one of her order ids
  (her loaded orders, and her rejected order rows that are no one else's order);
- ``JsonField(c, field, of)``: the JSON text in ``c`` has a top-level ``field`` holding her
  id (``of="customer"``) or one of her order ids (``of="order"``);
- ``QuarantinedRow()``: a rejected row, by the customer and order ids it names as mapped at
  ingestion (``HeldId``: the quarantine's ``customer_id``/``order_id`` columns; for rows held
  before those columns existed, the same fields of its ``raw`` JSON);
- ``HashedCustomer`` and ``NoCustomer``: nothing to match; erasure never touches the table.

Matching is always equality on a value found by structure, never a text search, so an id
holding ``%``, ``_``, quotes or anything else matches only itself.
"""

from __future__ import annotations

import sqlglot as sg
import sqlglot.expressions as sge

from segmento.store.registry import REGISTRY
from segmento.store.schema import CustomerColumn, CustomerRef, HeldId, JsonField, QuarantinedRow, ThroughParent

Part = CustomerColumn | ThroughParent | JsonField | HeldId


def parts(ref: CustomerRef) -> tuple[Part, ...]:
    """What erasure matches for a declaration: nothing for tables that name no customer, or
    name her only by keyed pseudonym (the suppression list, the audit log)."""
    found: list[Part] = []
    for part in ref if isinstance(ref, tuple) else (ref,):
        if isinstance(part, QuarantinedRow):
            found += part.parts
        elif isinstance(part, ThroughParent):
            if (part.parent, part.parent_column) != ("orders", "order_id"):
                raise NotImplementedError(f"erasure follows orders.order_id only, not {part.parent}.{part.parent_column}")
            found.append(part)
        elif isinstance(part, CustomerColumn | JsonField | HeldId):
            found.append(part)
    return tuple(found)


DECLARED: dict[str, tuple[Part, ...]] = {name: parts(spec.customer_ref) for name, spec in REGISTRY.items()}


class Bind(dict):
    """Values as bound parameters where the engine takes them (DuckDB), else as quoted literals.

    Bound, an id reaches the engine as data: no character of it (quotes, backslashes, NUL) is ever parsed.
    """

    def __init__(self, bound: bool) -> None:
        super().__init__()
        self.bound = bound

    def __call__(self, value: str) -> sge.Expression:
        if not self.bound:
            return sge.convert(value)
        name = f"p{len(self)}"
        self[name] = value
        return sge.Placeholder(this=name)


def json_value(column: str, field: str, table: str | None = None) -> sge.Expression:
    """The text of a top-level JSON field (NULL when absent), transpiled to each engine."""
    return sge.JSONExtractScalar(
        this=sge.column(column, table, quoted=True),
        expression=sge.JSONPath(expressions=[sge.JSONPathRoot(), sge.JSONPathKey(this=field)]),
    )


def held_value(part: HeldId, table: str | None = None) -> sge.Expression:
    """The id a held row names: its mapped column, else (rows held before it existed) its raw field."""
    return sge.func("COALESCE", sge.column(part.column, table, quoted=True), json_value(part.raw, part.field, table))


def matches(ref: tuple[Part, ...], customer_id: str, order_ids: list[str], bind: Bind) -> sge.Condition | None:
    """The condition for the customer's rows of a table matched by ``ref`` (None: no rows)."""
    conditions: list[sge.Condition] = []
    for part in ref:
        if isinstance(part, CustomerColumn):
            conditions.append(sge.column(part.column, quoted=True).eq(bind(customer_id)))
        elif isinstance(part, ThroughParent):
            if order_ids:
                conditions.append(sge.column(part.column, quoted=True).isin(*map(bind, order_ids)))
        else:
            value = held_value(part) if isinstance(part, HeldId) else json_value(part.column, part.field)
            if part.of == "customer":
                conditions.append(value.eq(bind(customer_id)))
            elif order_ids:
                conditions.append(value.isin(*map(bind, order_ids)))
    return sge.or_(*conditions) if conditions else None


def order_ids_query(customer_id: str, bind: Bind) -> sge.Select:
    """The customer's order ids: her loaded orders, and the ids of her rejected order rows
    (in the quarantine) that are not loaded orders of someone else."""
    loaded = sg.select("order_id").from_(sge.table_("orders", quoted=True)).where(
        sge.column("customer_id", quoted=True).eq(bind(customer_id)))
    raw_customer, raw_order = (held_value(part, "quarantine") for part in QuarantinedRow().parts)
    rejected = sg.select(raw_order.as_("order_id")).from_(sge.table_("quarantine", quoted=True)).where(
        sge.and_(
            sge.column("table_name", quoted=True).eq(sge.convert("orders")),
            raw_customer.eq(bind(customer_id)),
            raw_order.is_(sge.null()).not_(),
            sge.Exists(this=sg.select("1").from_(sge.table_("orders", quoted=True)).where(
                sge.column("order_id", quoted=True).eq(raw_order))).not_(),
        )
    )
    return sg.union(loaded, rejected, distinct=True)
