"""How a table is declared (columns, key, role, how its rows refer to a customer) and the
knowledge-base tables themselves: one declaration that ingestion validates against, the
store creates tables from, and the README documents. Every other table is declared in
``store/registry.py`` with the same types."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import ibis
import ibis.expr.datatypes as dt

from segmento.errors import NotFoundError

CHANNELS_ORDER = ("store", "web", "app")
CONSENT_CHANNELS = ("email", "sms", "phone", "push", "post")
EVENT_TYPES = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "email_sent",
    "email_open",
    "email_click",
    "chatbot",
    "call",
    "selfcare",
    "social",
    "campaign_response",
)
EVENT_CHANNELS = ("web", "app", "email", "sms", "push", "chatbot", "phone", "selfcare", "social", "store")
GENDERS = ("F", "M", "X")


@dataclass(frozen=True)
class Column:
    """One column: its type and the rules a row must meet to be loaded."""

    name: str
    type: str  # string | int | float | bool | date | timestamp, or an Ibis type such as array<string>
    doc: str
    required: bool = False
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    personal: bool = False  # personal data: erased by forget(), listed by minimisation

    @property
    def dtype(self) -> dt.DataType:
        return dt.dtype({"int": "int64", "float": "float64", "bool": "boolean"}.get(self.type, self.type))


class Role(Enum):
    """What a table is for, which says how it may be rebuilt, purged or erased."""

    KNOWLEDGE_BASE = "knowledge base"  # what the brand knows: loaded from sources, the truth
    DERIVED = "derived"  # computed by a later stage from the knowledge base (memberships, snapshots, models)
    OPERATIONAL = "operational"  # the system's own state and logs (ingestions, outbox, keys, audit)


@dataclass(frozen=True)
class CustomerColumn:
    """Each row names its customer in a column."""

    column: str = "customer_id"


@dataclass(frozen=True)
class ThroughParent:
    """Each row belongs to a row of ``parent`` (``column`` = ``parent.parent_column``) that names the customer."""

    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True)
class JsonField:
    """A top-level ``field`` of the JSON text in ``column`` holds the customer's id (``of="customer"``)
    or one of her order ids (``of="order"``)."""

    column: str
    field: str
    of: str = "customer"


@dataclass(frozen=True)
class HeldId:
    """An id held in ``column`` as mapped at ingestion, or, for rows held before that column
    existed (NULL there), the ``field`` of the JSON text in ``raw``: the customer's id
    (``of="customer"``) or one of her order ids (``of="order"``)."""

    column: str
    raw: str
    field: str
    of: str = "customer"


@dataclass(frozen=True)
class QuarantinedRow:
    """A rejected source row: the customer and order ids it names, read through the ingestion's
    column mapping (so a file whose id columns had other names is matched too), kept in the
    quarantine's own ``customer_id`` and ``order_id`` columns; older rows by their raw values."""

    raw: str = "raw"

    @property
    def parts(self) -> tuple[HeldId, ...]:
        return (HeldId("customer_id", self.raw, "customer_id"), HeldId("order_id", self.raw, "order_id", "order"))


@dataclass(frozen=True)
class HashedCustomer:
    """The customer appears only as a keyed pseudonym (HMAC under a secret kept outside the
    database) after ``prefix``: never the id itself, so erasure leaves these rows alone."""

    column: str
    prefix: str = ""


@dataclass(frozen=True)
class NoCustomer:
    """No row refers to a customer; ``why`` says what the table holds instead."""

    why: str


Ref = CustomerColumn | ThroughParent | JsonField | QuarantinedRow | HashedCustomer | NoCustomer
CustomerRef = Ref | tuple[Ref, ...]  # a tuple: a row is the customer's when any part matches


@dataclass(frozen=True)
class TableSpec:
    """A table: columns, primary key, role, stage and how its rows refer to a customer."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    references: dict[str, str] = field(default_factory=dict)  # column -> table it must exist in
    time_column: str | None = None  # what "as of D" filters on
    role: Role = Role.KNOWLEDGE_BASE
    stage: str = "store"  # the stage that writes it
    customer_ref: CustomerRef = CustomerColumn()
    partition_by: tuple[str, ...] = ()  # stored apart where the engine partitions (Spark): what a re-run replaces
    operational_store: bool = False  # row-level state kept in the operational store when the batch runs on Spark
    lookup: tuple[str, ...] = ()  # read one value at a time (a customer's timeline): indexed where the engine can

    @property
    def schema(self) -> ibis.Schema:
        return ibis.schema({c.name: c.dtype for c in self.columns})

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


CUSTOMERS = TableSpec(
    "customers",
    "One row per customer: the profile.",
    (
        Column("customer_id", "string", "Brand's customer identifier", required=True, personal=True),
        Column("birth_date", "date", "Date of birth (age is computed as of each date)", personal=True),
        Column("gender", "string", "F, M or X", allowed=GENDERS, personal=True),
        Column("city", "string", "City", personal=True),
        Column("postcode", "string", "Postal code", personal=True),
        Column("country", "string", "ISO 3166 alpha-2 country code"),
        Column("signup_date", "date", "Date the customer joined", required=True),
        Column("traits", "string", "Free-form traits as a JSON object", personal=True),
    ),
    key=("customer_id",),
    time_column="signup_date",
)

ORDERS = TableSpec(
    "orders",
    "One row per order (receipt in store, web or app order).",
    (
        Column("order_id", "string", "Order identifier", required=True),
        Column("customer_id", "string", "Customer who ordered", required=True, personal=True),
        Column("ordered_at", "timestamp", "When the order was placed", required=True),
        Column("amount", "float", "Amount paid, after discount", required=True, min_value=0),
        Column("discount_amount", "float", "Discount granted on the order", min_value=0),
        Column("channel", "string", "store, web or app", required=True, allowed=CHANNELS_ORDER),
        Column("currency", "string", "ISO 4217 currency code"),
    ),
    key=("order_id",),
    references={"customer_id": "customers"},
    time_column="ordered_at",
    lookup=("customer_id",),
)

ORDER_LINES = TableSpec(
    "order_lines",
    "The products of each order.",
    (
        Column("order_id", "string", "Order the line belongs to", required=True),
        Column("line_no", "int", "Line number within the order", required=True, min_value=1),
        Column("product_id", "string", "Product identifier", required=True),
        Column("category", "string", "Product category (e.g. tennis, hiking shoes)", required=True),
        Column("size", "string", "Size, where the product has one"),
        Column("quantity", "int", "Units bought", required=True, min_value=1),
        Column("unit_price", "float", "Price per unit paid", required=True, min_value=0),
        Column("promo", "bool", "Whether the line was on promotion"),
    ),
    key=("order_id", "line_no"),
    references={"order_id": "orders"},
    customer_ref=ThroughParent("order_id", "orders", "order_id"),
)

EVENTS = TableSpec(
    "events",
    "Behaviour on every channel: web/app views and searches, email, chatbot, call centre, "
    "self-care, social, campaign responses.",
    (
        Column("event_id", "string", "Event identifier", required=True),
        Column("customer_id", "string", "Customer concerned", required=True, personal=True),
        Column("occurred_at", "timestamp", "When it happened", required=True),
        Column("type", "string", "Event type: " + ", ".join(EVENT_TYPES), required=True, allowed=EVENT_TYPES),
        Column("channel", "string", "Channel: " + ", ".join(EVENT_CHANNELS), required=True, allowed=EVENT_CHANNELS),
        Column("category", "string", "Product category viewed, searched or asked about"),
        Column("size", "string", "Size viewed or asked about (e.g. 43)"),
        Column("campaign_id", "string", "Campaign for email and campaign events"),
        Column("properties", "string", "Other properties as a JSON object", personal=True),
    ),
    key=("event_id",),
    references={"customer_id": "customers"},
    time_column="occurred_at",
    lookup=("customer_id",),
)

CONSENTS = TableSpec(
    "consents",
    "The consent ledger: every grant and withdrawal, per channel and purpose.",
    (
        Column("customer_id", "string", "Customer", required=True, personal=True),
        Column("channel", "string", "email, sms, phone, push or post", required=True, allowed=CONSENT_CHANNELS),
        Column("purpose", "string", "Purpose, e.g. marketing", required=True),
        Column("granted", "bool", "True for a grant, false for a withdrawal", required=True),
        Column("recorded_at", "timestamp", "When it was given or withdrawn", required=True),
        Column("source", "string", "Where it was collected (web form, store, call centre...)"),
    ),
    key=("customer_id", "channel", "purpose", "recorded_at"),
    references={"customer_id": "customers"},
    time_column="recorded_at",
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (CUSTOMERS, ORDERS, ORDER_LINES, EVENTS, CONSENTS)}  # loadable


def table_spec(name: str) -> TableSpec:
    """The spec of a knowledge-base table, with a clear error for a wrong name."""
    try:
        return TABLES[name]
    except KeyError:
        raise NotFoundError(f"unknown table {name!r}; valid tables: {', '.join(TABLES)}") from None
