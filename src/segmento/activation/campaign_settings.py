"""The ``campaigns`` section of the project file: what a campaign targets, through which destination, with which control group."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from segmento.settings import Strict

CHANNELS = ("email", "sms", "phone", "push", "post")


class SegmentTarget(Strict):
    """One segment of a segmentation, as of the launch date."""

    segmentation: str
    segment: str = Field(description="segment id (e.g. champions) or label")


class CampaignDefinition(Strict):
    """A campaign: who it targets (an audience, a segment or a trajectory alert rule), the
    destination that carries it, and the share held out as a control group."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="campaign id, carried by every message")
    name: str | None = Field(None, description="for people (default: the id)")
    channel: str | None = Field(None, description="email, sms, phone, push or post (default: the destination's)")
    offer: str | None = Field(None, description="offer type, e.g. discount, newsletter, free_shipping")
    start: date = Field(description="first day the campaign may be sent")
    end: date | None = Field(None, description="last day (alert campaigns take alerts up to it)")
    audience: str | None = Field(None, description="audience targeted (members at launch)")
    segment: SegmentTarget | None = Field(None, description="segment targeted (members at launch)")
    alert: str | None = Field(None, description="trajectory rule whose alerts are the targets (a journey)")
    journey: str | None = Field(None, description="journey name in the payload (default: the campaign id)")
    to: str = Field(description="destination name")
    control_share: float = Field(0.1, ge=0.0, lt=1.0, description="share of reachable targets held out, never sent")
    attribution_days: int = Field(14, ge=1, description="days after the send in which an order counts as a conversion")

    @model_validator(mode="after")
    def _one_target(self) -> CampaignDefinition:
        given = [k for k in ("audience", "segment", "alert") if getattr(self, k) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "campaign_target", "campaign {id}: give exactly one of audience, segment or alert",
                {"id": repr(self.id)})
        if self.channel is not None and self.channel not in CHANNELS:
            raise PydanticCustomError("campaign_channel", "channel must be one of {valid}",
                                      {"valid": ", ".join(CHANNELS)})
        if self.end is not None and self.end < self.start:
            raise PydanticCustomError("campaign_dates", "end {end} is before start {start}",
                                      {"end": str(self.end), "start": str(self.start)})
        return self

    @property
    def target_kind(self) -> str:
        return "audience" if self.audience else "segment" if self.segment else "alert"

    @property
    def target(self) -> str:
        if self.segment is not None:
            return f"{self.segment.segmentation}:{self.segment.segment}"
        return self.audience or self.alert or ""
