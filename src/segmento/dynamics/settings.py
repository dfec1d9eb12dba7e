"""The dynamics section of the project file: the snapshot grid, Markov settings and trajectory alert rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from segmento.settings import Strict


class TrajectoryRule(Strict):
    """A move between segments that matters: it raises an alert feeding a journey."""

    name: str
    segmentation: str
    from_segments: list[str] | Literal["*"] = Field("*", alias="from")
    to_segments: list[str] | Literal["*"] = Field("*", alias="to")
    direction: Literal["down", "up", "any"] = "any"
    kind: Literal["negative", "positive", "high_stakes"] = "negative"
    journey: str | None = None
    min_value: float = Field(0.0, description="only customers whose value at stake is at least this")


class Dynamics(Strict):
    """How snapshots are taken and which trajectories raise alerts."""

    grid: Literal["monthly", "weekly", "quarterly"] = "monthly"
    markov_window: int = Field(12, ge=1)
    discount_rate: float = Field(0.01, ge=0, description="per period, for expected value")
    rules: list[TrajectoryRule] = Field(default_factory=list)
