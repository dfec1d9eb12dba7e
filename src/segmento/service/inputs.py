"""What the REST API accepts, as pydantic models (they are the OpenAPI docs).

Inputs are strict: unknown fields, control characters, non-finite numbers, time zones
and instants in the future are refused with a 422 naming the field, before anything
reaches the knowledge base.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
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


class KeyIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=PRINTABLE)]
    scopes: list[Literal["read", "write", "admin"]] = Field(min_length=1, max_length=3)
