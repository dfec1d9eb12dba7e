"""The segmentations section of the project file: RFM maps, value tiers and k-means models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from segmento.segmentations.cells import compile_map
from segmento.settings import Strict


class SegmentationBase(Strict):
    """What every segmentation declares: a name, labels and how much data fitting reads."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    description: str = ""
    language: Literal["en", "fr"] = Field("en", description="language of the built-in segment labels")
    labels: dict[str, str] = Field(default_factory=dict, description="segment id -> label, overrides")
    sample: int | None = Field(200_000, ge=100, description="customers read to fit (None: all)")
    seed: int = 0


class RFMCells(Strict):
    """One named RFM segment and the score cells it covers, e.g. 'r=4-5 fm=4-5'."""

    id: str
    label: str | None = None
    cells: list[str] = Field(min_length=1)


class RFMSegmentation(SegmentationBase):
    """Recency / frequency / monetary scores and a named map of their cells."""

    kind: Literal["rfm"]
    # One window for the three axes (lifetime by default): mixing all-time recency with a
    # 12-month frequency gives anyone silent for a year F=M=1, so "At risk" and "Can't lose
    # them" could never fill. For a 12-month map: recency_days, orders_12m, spend_12m.
    recency: str = "recency_days"
    frequency: str = "orders_lifetime"
    monetary: str = "spend_lifetime"
    bins: int = Field(5, ge=2, le=9, description="score levels per axis (5 = quintiles)")
    map: list[RFMCells] | None = Field(None, description="segments over the cells (default: the 11-segment map)")

    @field_validator("map")
    @classmethod
    def _complete_map(cls, value: list[RFMCells] | None, info: ValidationInfo) -> list[RFMCells] | None:
        if "bins" in info.data:
            compile_map(value, info.data["bins"])
        return value


class Tier(Strict):
    """One value tier; the last tier takes everyone left (no bound)."""

    id: str
    label: str | None = None
    min: float | None = Field(None, description="value >= min")
    above: float | None = Field(None, description="value > above")
    quantile: float | None = Field(None, gt=0, lt=1, description="value >= this quantile, frozen at fit")


def _get(tier: Any, key: str) -> Any:
    return tier.get(key) if isinstance(tier, dict) else getattr(tier, key)


def check_tiers(tiers: Sequence[Any]) -> None:
    """Every tier but the last has exactly one bound; ids unique; fixed bounds decrease."""
    ids = [_get(t, "id") for t in tiers]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"tier ids must be unique; repeated: {', '.join(repeated)}")
    for position, tier in enumerate(tiers):
        given = [key for key in ("min", "above", "quantile") if _get(tier, key) is not None]
        last = position == len(tiers) - 1
        if last and given:
            raise ValueError(f"the last tier ({_get(tier, 'id')}) takes everyone left and has no bound; remove {given[0]}")
        if not last and len(given) != 1:
            raise ValueError(f"tier {_get(tier, 'id')}: give exactly one of min, above or quantile (best tier first)")
    bounded = tiers[:-1]
    fixed = [_get(t, "min") if _get(t, "min") is not None else _get(t, "above") for t in bounded if _get(t, "quantile") is None]
    quantiles = [_get(t, "quantile") for t in bounded if _get(t, "quantile") is not None]
    if any(a < b for a, b in zip(fixed, fixed[1:])) or any(a <= b for a, b in zip(quantiles, quantiles[1:])):
        raise ValueError(
            f"tier bounds must decrease from the best tier to the worst; got thresholds {fixed} and quantiles {quantiles}"
        )


class TiersSegmentation(SegmentationBase):
    """Value tiers from thresholds or quantiles of one feature, best tier first."""

    kind: Literal["tiers"]
    feature: str = "spend_12m"
    quantile_among: Literal["positive", "all"] = "positive"
    tiers: list[Tier] = Field(min_length=2)

    @field_validator("tiers")
    @classmethod
    def _bounds(cls, value: list[Tier]) -> list[Tier]:
        check_tiers(value)
        return value


class KMeansSegmentation(SegmentationBase):
    """k-means on chosen features; fitted on a sample, assigned in the engine."""

    kind: Literal["kmeans"]
    features: list[str] = Field(min_length=1)
    categorical: list[str] = Field(default_factory=list, description="one-hot encoded")
    transforms: dict[str, Literal["auto", "log", "none"]] = Field(default_factory=dict)
    scaling: Literal["robust", "standard", "none"] = "robust"
    weights: dict[str, float] = Field(default_factory=dict)
    fill: dict[str, float] = Field(default_factory=dict, description="value for NULL (default: fitted median)")
    k: int | Literal["auto"] = "auto"
    k_min: int = Field(3, ge=2)
    k_max: int = Field(10, ge=2)
    min_segment_share: float = Field(0.02, ge=0, lt=0.5)
    active: str | None = Field(None, description="feature; NULL or 0 means the 'inactive' segment")
    rank_by: str | None = Field(None, description="feature whose mean orders segments (default: the first)")
    n_init: int = Field(4, ge=1)
    min_agreement: float = Field(
        0.5, ge=0, le=1, description="a refit keeps a cluster's id only when this share of its members agree"
    )

    @model_validator(mode="after")
    def _consistent(self) -> KMeansSegmentation:
        """Cross-field checks, with the names that would be valid."""
        features = list(self.features)
        for key in ("categorical", "transforms", "weights", "fill"):
            unknown = [name for name in getattr(self, key) if name not in features]
            if unknown:
                raise ValueError(f"{key} names {', '.join(unknown)}, not in features ({', '.join(features)})")
        logged = [name for name in self.transforms if name in self.categorical]
        if logged:
            raise ValueError(f"transforms apply to numeric features; {', '.join(logged)} is categorical")
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        if isinstance(self.k, int) and self.k < 2:
            raise ValueError("k must be at least 2, or 'auto'")
        return self


Segmentation = Annotated[RFMSegmentation | TiersSegmentation | KMeansSegmentation, Field(discriminator="kind")]
