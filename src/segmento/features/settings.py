"""The features section of the project file: windows of the built-in features and the user's own."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from segmento.settings import Strict

WINDOW_PATTERN = r"lifetime|[1-9][0-9]*[dwmy]"
FEATURE_NAME_PATTERN = r"[a-z][a-z0-9_]*"


def _check_window(value: Any) -> str:
    """'30d', '6w', '12m', '2y' or 'lifetime'; anything else is an error an analyst can act on."""
    if not isinstance(value, str) or not re.fullmatch(WINDOW_PATTERN, value.strip()):
        raise PydanticCustomError(
            "window",
            "bad window {value}: write a number then d, w, m or y (e.g. '30d', '12m'), or 'lifetime'",
            {"value": repr(value)},
        )
    return value.strip()


def _check_feature_name(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(FEATURE_NAME_PATTERN, value):
        raise PydanticCustomError(
            "feature_name",
            "bad feature name {value}: use lowercase letters, digits and _, starting with a letter",
            {"value": repr(value)},
        )
    return value


WindowText = Annotated[str, BeforeValidator(_check_window)]
FeatureName = Annotated[str, BeforeValidator(_check_feature_name)]
SqlText = Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, (int, float)) else v)]  # `expr: 1`


class FeatureWindows(Strict):
    """Look-back windows of the built-in features; a feature's name ends with its window (orders_90d)."""

    rfm: list[WindowText] = Field(["90d", "12m"], description="orders_<w>, spend_<w> (lifetime is always there)")
    social: list[WindowText] = Field(["30d", "90d", "12m"], description="social_<w>")
    service: list[WindowText] = Field(["90d"], description="chatbot_<w>, call_<w>, selfcare_<w>")
    interests: list[WindowText] = Field(["30d", "90d"], description="interests_<w>, interest_sizes_<w>")
    period: WindowText = Field("12m", description="window of shares and rates (share_web_<w>, promo_*_<w>...)")


class CustomFeature(Strict):
    """A user feature without Python: an aggregate over a table, or an expression over other features."""

    name: FeatureName
    axis: str = "custom"
    description: str = ""
    unit: str = ""
    # an aggregate feature ...
    table: Literal["orders", "order_lines", "events"] | None = None
    aggregation: Literal["count", "sum", "mean", "min", "max", "count_distinct"] | None = None
    column: str | None = None
    where: SqlText | None = Field(None, description="SQL condition over the table's columns")
    window: WindowText = "lifetime"
    # ... or a derived feature
    expr: SqlText | None = Field(None, description="SQL expression over other features")

    @model_validator(mode="after")
    def _one_kind(self) -> CustomFeature:
        if self.expr is not None:
            if self.table or self.aggregation or self.column or self.where:
                raise PydanticCustomError(
                    "feature_kind",
                    "feature {name}: give either expr or table/aggregation, not both",
                    {"name": repr(self.name)},
                )
        elif self.table is None or self.aggregation is None:
            raise PydanticCustomError(
                "feature_kind",
                "feature {name}: give expr (a derived feature) or table and aggregation (an aggregate feature)",
                {"name": repr(self.name)},
            )
        elif self.column is None and self.aggregation != "count":
            raise PydanticCustomError(
                "feature_kind",
                "feature {name}: aggregation {agg} needs a column",
                {"name": repr(self.name), "agg": repr(self.aggregation)},
            )
        return self


class FeaturesSection(Strict):
    """The features section: windows of the built-ins and the user's own features."""

    windows: FeatureWindows = Field(default_factory=FeatureWindows)
    custom: list[CustomFeature] = Field(default_factory=list)
