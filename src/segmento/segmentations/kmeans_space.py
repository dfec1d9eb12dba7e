"""The space k-means works in: fitted fills, transforms, scaling and one-hot levels.

``KMeansSpace`` learns them on the fit sample (``fit_space``) and has two twins that must
agree: ``transform`` (numpy, for fitting and ``predict``) and ``engine_inputs`` /
``z_columns`` (Ibis, for assigning the whole base in the engine).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from segmento.segmentations.base import as_float

OTHER, MISSING = "(other)", "(missing)"
MAX_LEVELS = 8
DUMMY_WEIGHT = float(np.sqrt(0.5))


def heavy_tailed(values: np.ndarray) -> bool:
    """Non-negative with a long right tail (skewness above 1): spend, counts, days."""
    values = values[~np.isnan(values)]
    return bool(len(values) and values.min() >= 0 and values.std() > 0 and pd.Series(values).skew() > 1)


def signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log(np.abs(values) + 1.0)


def signed_log_expr(value: ibis.NumericValue) -> ibis.NumericValue:
    return (value.abs() + 1.0).ln() * value.sign()


class KMeansSpace:
    """Mixin of ``KMeansSegmenter``: reads its parameters (features, categorical, transforms,
    scaling, weights, fill) and keeps what it learns on it, so the frozen state is one object."""

    features: list[str] | None
    categorical: list[str] | None
    transforms: dict[str, str] | None
    scaling: str
    weights: dict[str, float] | None
    fill: dict[str, float] | None

    @property
    def numeric(self) -> list[str]:
        return [f for f in self.features or [] if f not in (self.categorical or [])]

    def fit_space(self, X: pd.DataFrame) -> None:
        """Learn fills, transforms, centre/scale of numeric features and levels of categorical ones."""
        transforms, weights, fill = self.transforms or {}, self.weights or {}, self.fill or {}
        self.fill_, self.transforms_, self.center_, self.scale_ = {}, {}, {}, {}
        for name in self.numeric:
            raw = as_float(X, name)
            known = raw[~np.isnan(raw)]
            self.fill_[name] = float(fill.get(name, np.median(known) if len(known) else 0.0))
            values = np.where(np.isnan(raw), self.fill_[name], raw)
            choice = transforms.get(name, "auto")
            if choice == "auto":
                choice = "log" if heavy_tailed(values) else "none"
            self.transforms_[name] = choice
            values = signed_log(values) if choice == "log" else values
            self.center_[name], self.scale_[name] = _centre_scale(values, self.scaling)
        self.levels_ = {}
        for name in self.categorical or []:
            text = _categories(X[name])
            top = text[text != MISSING].value_counts().index[:MAX_LEVELS].tolist()
            rest = [level for level in (OTHER, MISSING) if (level == MISSING and (text == MISSING).any())
                    or (level == OTHER and (~text.isin([*top, MISSING])).any())]
            self.levels_[name] = [*top, *rest]
        self.columns_ = [*self.numeric, *(f"{n}={level}" for n in self.levels_ for level in self.levels_[n])]
        self.weights_ = [float(weights.get(n, 1.0)) for n in self.numeric] + [
            float(weights.get(n, 1.0)) * DUMMY_WEIGHT for n in self.levels_ for _ in self.levels_[n]
        ]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The scaled matrix k-means works in (numpy twin of ``z_columns``)."""
        columns = []
        for name in self.numeric:
            raw = as_float(X, name)
            values = np.where(np.isnan(raw), self.fill_[name], raw)
            values = signed_log(values) if self.transforms_[name] == "log" else values
            columns.append((values - self.center_[name]) / self.scale_[name])
        for name, levels in self.levels_.items():
            text = _categories(X[name], levels).to_numpy()
            columns.extend((text == level).astype("float64") for level in levels)
        return np.column_stack(columns) * np.asarray(self.weights_) if columns else np.empty((len(X), 0))

    def engine_inputs(self, t: ibis.Table) -> tuple[dict[str, ibis.NumericValue], list[float], list[float]]:
        """Transformed features before scaling, as engine expressions, with the offsets and
        factors that scale them: z = (y - offset) * factor (Ibis twin of ``transform``)."""
        inputs: dict[str, ibis.NumericValue] = {}
        offsets: list[float] = []
        factors: list[float] = []
        weights = iter(self.weights_)
        for name in self.numeric:
            value = t[name].cast("float64").fill_null(self.fill_[name])
            inputs[f"_seg_y{len(inputs)}"] = signed_log_expr(value) if self.transforms_[name] == "log" else value
            offsets.append(self.center_[name])
            factors.append(next(weights) / self.scale_[name])
        for name, levels in self.levels_.items():
            text = t[name].cast("string")
            known = [level for level in levels if level not in (OTHER, MISSING)]
            category = ibis.cases((text.isnull(), MISSING), (text.isin(known), text), else_=ibis.literal(OTHER)) \
                if known else ibis.ifelse(text.isnull(), MISSING, OTHER)
            for level in levels:
                inputs[f"_seg_y{len(inputs)}"] = ibis.ifelse(category == level, 1.0, 0.0)
                offsets.append(0.0)
                factors.append(next(weights))
        return inputs, offsets, factors

    def z_columns(self, t: ibis.Table) -> dict[str, ibis.NumericValue]:
        """The scaled features k-means works in, as engine expressions."""
        inputs, offsets, factors = self.engine_inputs(t)
        return {f"_seg_z{i}": (y - o) * f for i, (y, o, f) in enumerate(zip(inputs.values(), offsets, factors))}


def _categories(column: pd.Series, levels: list[str] | None = None) -> pd.Series:
    """Text of a categorical feature: (missing) for NULL, (other) outside the known levels."""
    text = column.astype("object").where(column.notna(), MISSING).astype(str)
    if levels is not None:
        known = [level for level in levels if level not in (OTHER, MISSING)]
        text = text.where(text.isin([*known, MISSING]), OTHER)
    return text


def _centre_scale(values: np.ndarray, scaling: str) -> tuple[float, float]:
    if scaling == "none":
        return 0.0, 1.0
    if scaling == "standard":
        return float(values.mean()), float(values.std()) or 1.0
    q25, median, q75 = np.quantile(values, [0.25, 0.5, 0.75])
    return float(median), float(q75 - q25) or float(values.std()) or 1.0
