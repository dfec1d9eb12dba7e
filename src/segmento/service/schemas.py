"""What the REST API returns, as pydantic models (they are the OpenAPI docs).

Where a stage already declares the shape (a segment portrait, an alert or audience
change row in the schema registry), the model is derived from that declaration instead
of copied, so the two cannot drift. What it accepts is in ``inputs.py``.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, Field, create_model

from segmento.segmentations.portraits import Portrait
from segmento.service.inputs import LocalTime
from segmento.store.registry import ALERTS, AUDIENCE_CHANGES
from segmento.store.schema import TableSpec

PYTHON_TYPES: dict[str, Any] = {"string": str, "int": int, "float": float, "bool": bool, "date": date,
                                "timestamp": LocalTime}


def row_model(name: str, spec: TableSpec, doc: str, leave_out: tuple[str, ...] = ()) -> type[BaseModel]:
    """A response model for rows of a declared table: its columns, types, allowed values and docs."""
    fields: dict[str, Any] = {}
    for column in spec.columns:
        if column.name in leave_out:
            continue
        kind = Literal[column.allowed] if column.allowed else PYTHON_TYPES[column.type]
        fields[column.name] = (kind if column.required else kind | None, Field(description=column.doc))
    return create_model(name, __doc__=doc, **fields)


Change = row_model("Change", AUDIENCE_CHANGES, "An audience enter or exit, as channels receive it "
                   "(change_id is its idempotency key).", leave_out=("recorded_at",))


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
    complete: bool = True  # false: a feature window reaches before the loaded history (no alert raised)
    note: str = ""


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
    forecast_with_inflow: list[dict[str, float]] = Field(description="the same with new customers arriving")
    interval: list[dict[str, Any]] = Field(description="periods_ahead, state, low, median, high (90%, Dirichlet)")
    stationary: dict[str, float | None]
    expected_value: dict[str, float | None]


def _portrait_out() -> type[BaseModel]:
    """``segmentations.portraits.Portrait`` as ``to_dict()`` sends it (stats as one record per feature)."""
    hints = get_type_hints(Portrait)
    fields = {f.name: (list[dict[str, Any]] if f.name == "stats" else hints[f.name], ...)
              for f in dataclasses.fields(Portrait)}
    return create_model("PortraitOut", __doc__=Portrait.__doc__, **fields)


PortraitOut = _portrait_out()
Alert = row_model("Alert", ALERTS, "A trajectory alert: one customer's move that matters, once per rule and period.")


class AlertTotal(BaseModel):
    period: date
    kind: str
    rule: str
    alerts: int
    value_at_stake: float


class AlertPage(BaseModel):
    total: int
    page: int
    size: int
    items: list[Alert]
    totals: list[AlertTotal]


class ChangePage(BaseModel):
    total: int
    page: int
    size: int
    items: list[Change]


class QualityCell(BaseModel):
    segment_id: str
    feature: str
    homogeneity: float | None  # std inside the segment / std of the base (below 1: tighter)
    separation: float | None  # |segment mean - others' mean| / std of the base
    scale: str | None  # 'log' or 'raw'


class QualityOut(BaseModel):
    segmentation: str
    version: int
    as_of: date
    sizes: list[dict[str, Any]]
    per_feature: list[QualityCell]
    silhouette: float | None
    stability: float | None
    predictive_power: float | None
    horizon_days: int
    warnings: list[str]


# ---- keys and status --------------------------------------------------------------------


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
    physically_complete: bool = Field(description="true once the database file was rewritten without the rows' bytes")
    note: str = Field(description="what the erasure did and what, if anything, is still pending")


class Health(BaseModel):
    status: Literal["ok"]
    read_model: Literal["ready", "building", "off"]
    dashboard: Literal["ready", "warming"]  # its pages computed ahead since the last read model build


class ReadModelOut(BaseModel):
    customers: int
    as_of: LocalTime
    built_at: LocalTime
    seconds: float
