"""The dynamics section of the project file: the snapshot grid, Markov settings and trajectory alert rules."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from segmento.dynamics.alert_reads import AlertKind
from segmento.settings import Strict


class TrajectoryRule(Strict):
    """A move between segments that matters: it raises an alert feeding a journey."""

    name: str
    segmentation: str
    from_segments: list[str] | Literal["*"] = Field("*", alias="from")
    to_segments: list[str] | Literal["*"] = Field("*", alias="to")
    direction: Literal["down", "up", "any"] = "any"
    kind: AlertKind = "negative"
    journey: str | None = None
    min_value: float = Field(0.0, description="only customers whose value at stake is at least this")
    value: Literal["spend_12m", "clv_12m", "clv_lost"] = Field(
        "spend_12m",
        description="value at stake: last-12-month spend before the move, expected 12-month value (clv_12m) "
        "after it, or the expected value lost in the move (clv_12m before - after, 0 if it rose)",
    )
    where: str | None = Field(None, description="SQL condition over features at the later period, e.g. p_alive < 0.3")
    trigger: Literal["move", "condition"] = Field(
        "move", description="move: a change of segment; condition: `overdue`/`where` becoming true"
    )
    min_change: float = Field(
        0.0, ge=0, le=1, description="least relative change of the 12-month spend in the move's direction (0.3 = 30%)"
    )
    persist: int = Field(
        1, ge=1, le=12, description="periods the customer must stay past the move before the alert (trigger: move)"
    )
    overdue: float | None = Field(
        None, gt=0, description="only customers silent for more than this many times their usual interval between orders"
    )

    @model_validator(mode="after")
    def _condition_given(self) -> TrajectoryRule:
        from segmento.features.sqlexpr import SqlExprError, parse  # lazy: sqlglot only when rules are read

        if self.trigger == "condition" and self.overdue is None and self.where is None:
            raise PydanticCustomError(
                "rule_trigger", "rule {name}: trigger: condition needs `overdue` or `where`", {"name": repr(self.name)}
            )
        if self.where is not None:
            try:
                parse(self.where)
            except SqlExprError as exc:
                raise PydanticCustomError("rule_where", "rule {name}: in where: {error}",
                                          {"name": repr(self.name), "error": str(exc)}) from None
        return self


class Dynamics(Strict):
    """How snapshots are taken and which trajectories raise alerts."""

    grid: Literal["monthly", "weekly", "quarterly"] = "monthly"
    markov_window: int = Field(12, ge=1)
    discount_rate: float = Field(0.01, ge=0, description="per period, for expected value")
    rules: list[TrajectoryRule] = Field(default_factory=list)
