"""What the REST API accepts and returns, as pydantic models (they are the OpenAPI docs).

Inputs are strict: unknown fields, control characters, non-finite numbers, time zones
and instants in the future are refused with a 422 naming the field, before anything
reaches the knowledge base.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from segmento.store.schema import CHANNELS_ORDER, EVENT_CHANNELS, EVENT_TYPES

PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=PRINTABLE)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]
Money = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]
LOCAL_TIME = (
    r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$"
)
EARLIEST = datetime(1900, 1, 1)


def _local_text(value: Any) -> Any:
    """The knowledge base keeps local times without a zone; say so instead of guessing one."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(LOCAL_TIME, value):
        raise ValueError("must be a local time without zone, e.g. 2024-12-31T10:30:00")
    return value


# OpenAPI's "date-time" requires a zone; ours are local times, documented as such.
LocalTime = Annotated[
    datetime,
    BeforeValidator(_local_text),
    WithJsonSchema({"type": "string", "pattern": LOCAL_TIME, "description": "local time without zone",
                    "examples": ["2024-12-31T10:30:00"]}),
]
FUTURE_SLACK = timedelta(days=1)  # clocks of the sending systems may run a little ahead


def _instant(value: datetime) -> datetime:
    if value < EARLIEST or value > datetime.now() + FUTURE_SLACK:
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and now (a day of clock skew allowed)")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- writes -------------------------------------------------------------------------------


class EventIn(Strict):
    """One behaviour event on any channel (the events table; properties as a JSON object)."""

    event_id: Id
    customer_id: Id
    occurred_at: LocalTime
    type: Literal[EVENT_TYPES]  # type: ignore[valid-type]
    channel: Literal[EVENT_CHANNELS]  # type: ignore[valid-type]
    category: Text | None = None
    size: Text | None = None
    campaign_id: Text | None = None
    properties: dict[str, Any] | None = None

    _when = field_validator("occurred_at")(_instant)

    @field_validator("properties")
    @classmethod
    def _small(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(json.dumps(value)) > 10_000:
            raise ValueError("properties must be at most 10,000 characters of JSON")
        return value

    def row(self) -> dict[str, Any]:
        """The events-table row."""
        data = self.model_dump()
        data["properties"] = json.dumps(self.properties, ensure_ascii=False) if self.properties is not None else None
        return data


class OrderLineIn(Strict):
    line_no: Annotated[int, Field(ge=1, le=10_000)]
    product_id: Id
    category: Text
    size: Text | None = None
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    unit_price: Money
    promo: bool | None = None


class OrderIn(Strict):
    """One order (receipt or web/app order) with its lines."""

    order_id: Id
    customer_id: Id
    ordered_at: LocalTime
    amount: Money = Field(description="amount paid, after discount")
    discount_amount: Money | None = None
    channel: Literal[CHANNELS_ORDER]  # type: ignore[valid-type]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=200)

    _when = field_validator("ordered_at")(_instant)

    @model_validator(mode="after")
    def _unique_lines(self) -> OrderIn:
        numbers = [line.line_no for line in self.lines]
        if len(numbers) != len(set(numbers)):
            raise ValueError("line_no must be unique within an order")
        return self


class EventBatch(Strict):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class OrderBatch(Strict):
    orders: list[OrderIn] = Field(min_length=1, max_length=500)


class Change(BaseModel):
    """An audience enter or exit, as channels receive it (change_id is its idempotency key)."""

    change_id: str
    seq: int
    customer_id: str
    audience: str
    kind: Literal["enter", "exit"]
    at: LocalTime
    reason: str


class WriteResult(BaseModel):
    id: str = Field(description="event_id or order_id")
    customer_id: str
    status: Literal["accepted", "duplicate", "rejected"]
    realtime: bool = Field(description="memberships were updated now (else at the next audience refresh)")
    changes: list[Change] | None = None
    error: str | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    changes: int
    results: list[WriteResult]


# ---- customer 360 ------------------------------------------------------------------------


class SegmentAt(BaseModel):
    period: date
    segment_id: str
    label: str | None
    rank: int | None


class ConsentState(BaseModel):
    channel: str
    purpose: str
    granted: bool
    recorded_at: LocalTime


class Customer360(BaseModel):
    """Everything known about one customer, as one document."""

    customer_id: str
    as_of: LocalTime = Field(description="the instant the features are computed at")
    source: Literal["read-model", "live"]
    attributes: dict[str, Any]
    features: dict[str, Any] | None = Field(description="None when the customer had not signed up at as_of")
    audiences: list[str] | None = Field(description="audiences the customer is in (None: no audiences stage)")
    segments: dict[str, SegmentAt | None] = Field(description="segment at each segmentation's latest snapshot")
    segment_history: dict[str, list[SegmentAt]]
    consents: list[ConsentState] = Field(description="consent in force per channel and purpose")


# ---- audiences, segmentations, dynamics ------------------------------------------------------


class Page(BaseModel):
    total: int
    page: int
    size: int
    items: list[dict[str, Any]]


class AudienceOut(BaseModel):
    name: str
    rule: str
    description: str
    owner: str
    tags: list[str]
    where: str = Field(description="project file and line, or 'library'")
    size: int = Field(description="members as last recorded")


class AudienceWarning(BaseModel):
    audience: str
    kind: str
    message: str


class AudienceDetail(AudienceOut):
    warnings: list[AudienceWarning]


class Matrix(BaseModel):
    rows: list[str]
    columns: list[str]
    counts: list[list[int]]


class GuidanceOut(BaseModel):
    as_of: LocalTime
    base: int
    sizes: dict[str, int]
    overlaps: Matrix
    warnings: list[AudienceWarning]


class SegmentOut(BaseModel):
    segment_id: str
    label: str
    rank: int
    description: str


class SegmentationOut(BaseModel):
    name: str
    kind: str | None
    version: int | None
    as_of: date | None = Field(description="fit date of the latest version")
    segments: list[SegmentOut]
    periods: int = Field(description="snapshots taken")
    latest_period: date | None


class SegmentationDetail(SegmentationOut):
    versions: list[int]
    definition: dict[str, Any] | None
    match: dict[str, Any] | None = Field(description="how this version's segments match the previous version's")


class SegmentSize(BaseModel):
    segment_id: str
    label: str | None
    rank: int | None
    customers: int
    value: float | None = Field(description="sum of the value at stake (12-month spend)")


class PeriodSizes(BaseModel):
    period: date
    sizes: list[SegmentSize]


class SnapshotsOut(BaseModel):
    segmentation: str
    periods: list[PeriodSizes]


class TransitionsOut(BaseModel):
    segmentation: str
    from_period: date
    to_period: date
    rows: list[str]
    columns: list[str]
    counts: list[list[int]]
    row_percent: list[list[float]]
    revenue: list[list[float]]


class Sankey(BaseModel):
    nodes: list[str]
    source: list[int]
    target: list[int]
    value: list[int]


class PathCount(BaseModel):
    path: str
    customers: int


class TrajectoriesOut(BaseModel):
    segmentation: str
    periods: list[date]
    top_paths: list[PathCount]
    sankey: Sankey


class MarkovOut(BaseModel):
    segmentation: str
    periods: list[date]
    states: list[str]
    matrix: list[list[float]]
    forecast: list[dict[str, float]] = Field(description="segment mix for 0..steps periods ahead")
    stationary: dict[str, float | None]
    expected_value: dict[str, float | None]


class PortraitOut(BaseModel):
    segment_id: str
    label: str
    rank: int
    size: int
    share: float
    revenue_share: float | None
    distinctive: list[tuple[str, float]]
    top_values: dict[str, list[tuple[str, float]]]
    top_categories: list[tuple[str, float, float | None]]
    preferred_channel: str | None
    channel_shares: dict[str, float | None]
    reach: dict[str, float | None]
    reactivity: dict[str, float | None]
    promo_sensitivity: dict[str, float | None]
    generated_label: str
    description: str
    stats: list[dict[str, Any]]


class Alert(BaseModel):
    alert_id: str
    period: date
    customer_id: str
    rule: str
    segmentation: str
    from_segment: str
    to_segment: str
    kind: str
    journey: str | None
    priority: float
    created_at: LocalTime


class AlertPage(BaseModel):
    total: int
    page: int
    size: int
    items: list[Alert]


# ---- keys and status --------------------------------------------------------------------


class KeyIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=PRINTABLE)]
    scopes: list[Literal["read", "write", "admin"]] = Field(min_length=1, max_length=3)


class KeyOut(BaseModel):
    key_id: str
    name: str
    scopes: list[str]
    created_at: LocalTime
    revoked: bool
    revoked_at: LocalTime | None


class NewKey(KeyOut):
    key: str = Field(description="the secret key: shown only in this response")


class DeliveryStatus(BaseModel):
    """One destination's outbox: messages pending, delivered, failed (dead letters), filtered (no consent)."""

    destination: str
    pending: int
    delivered: int
    failed: int
    filtered: int
    oldest_pending: LocalTime | None
    last_error: str | None


class Erasure(BaseModel):
    customer_id: str
    removed: dict[str, int]


class Health(BaseModel):
    status: Literal["ok"]
    read_model: Literal["ready", "building", "off"]


class ReadModelOut(BaseModel):
    customers: int
    as_of: LocalTime
    built_at: LocalTime
    seconds: float
