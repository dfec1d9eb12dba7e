"""The activation sections of the project file: destinations, routes and audience exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from segmento.settings import Strict


class RetryPolicy(Strict):
    """How a failing destination is retried before a message goes to dead letter."""

    max_attempts: int = Field(8, ge=1, description="attempts before dead letter (status failed)")
    backoff: float = Field(2.0, gt=0, description="seconds before the first retry; doubles each attempt, with jitter")
    max_backoff: float = Field(900.0, gt=0, description="longest wait between two attempts, in seconds")


class DestinationBase(Strict):
    """What every destination declares: a name, the channel it reaches (for consent) and batching."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    channel: Literal["email", "sms", "phone", "push", "post"] | None = Field(
        None, description="only customers consenting to this channel at send time are sent"
    )
    purpose: str = Field("marketing", description="consent purpose checked with the channel")
    batch_size: int = Field(100, ge=1, description="messages per request or file")
    rate_limit: float | None = Field(None, gt=0, description="requests (or files) per second at most")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)


class WebhookDestination(DestinationBase):
    """POST JSON batches to a URL, signed with HMAC-SHA256 when a secret is set."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: str | None = Field(None, description="signing secret (prefer secret_env)")
    secret_env: str | None = Field(None, description="environment variable holding the signing secret")
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(10.0, gt=0, description="seconds to wait for the receiver")


class FileDestination(DestinationBase):
    """Drop CSV or Parquet files, one folder per audience or alert kind, each with a manifest."""

    type: Literal["file"]
    path: str
    format: Literal["csv", "parquet"] = "csv"


class PluginDestination(DestinationBase):
    """A platform connector: a class 'package.module:Class' implementing segmento.activation.destinations.Sender."""

    type: Literal["plugin"]
    plugin: str = Field(pattern=r"^[\w.]+:\w+$")
    options: dict[str, Any] = Field(default_factory=dict)


Destination = Annotated[WebhookDestination | FileDestination | PluginDestination, Field(discriminator="type")]


class Route(Strict):
    """Which alerts or audience changes go to which destinations, for which journey."""

    name: str
    alerts: list[str] | Literal["*"] | None = Field(None, description="trajectory rule names, or * for all")
    kinds: list[Literal["negative", "positive", "high_stakes"]] | None = Field(None, description="alert kinds")
    min_priority: float = Field(0.0, description="only alerts with at least this value at stake")
    max_alert_age: int | None = Field(
        45, ge=0, description="days; older alerts are not sent (age: from the period end to the newest loaded data)"
    )
    audiences: list[str] | Literal["*"] | None = Field(None, description="audience names, or * for all")
    changes: list[Literal["enter", "exit"]] = Field(["enter", "exit"], description="audience changes routed")
    journey: str | None = Field(None, description="journey name in the payload (default: the rule's, else the route's)")
    to: list[str] = Field(min_length=1, description="destination names")
    profile: list[str] = Field(default_factory=list, description="customer columns the journey needs")
    params: dict[str, Any] = Field(default_factory=dict, description="fixed values the journey needs")
    campaign: str | None = Field(None, description="campaign whose control group is held out (set for alert campaigns)")

    @model_validator(mode="after")
    def _one_source(self) -> Route:
        if (self.alerts is None) == (self.audiences is None):
            raise PydanticCustomError(
                "route_source", "route {name}: give either alerts or audiences", {"name": repr(self.name)}
            )
        return self


class AudienceExport(Strict):
    """The full membership of an audience sent to a destination, on demand or on a schedule."""

    audience: str
    to: str = Field(description="destination name")
    every: Literal["hourly", "daily", "weekly", "monthly"] | None = Field(None, description="schedule")
    profile: list[str] = Field(default_factory=list, description="customer columns to include")
