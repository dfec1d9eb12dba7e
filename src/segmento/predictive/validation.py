"""Calibration/holdout validation: fit on the history up to C, predict (C, D], compare with what happened.

The model is fitted (not stored) as of C = D - holdout days. For each customer with
orders by C, the actual number of repeat purchase days in the holdout is the growth
of ``btyd_frequency`` from C to D, computed in the engine; the prediction is the
conditional expectation over the holdout length. Both are summed per calibration
frequency (0, 1, ..., 7+) and in total, on distinct triples as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from ibis.backends import BaseBackend

from segmento.config import Project
from segmento.features import compute_features
from segmento.predictive.api import fit_summary, settings_of
from segmento.predictive.registry import PredictiveModel
from segmento.predictive.settings import PredictiveSettings
from segmento.predictive.summary import TRIPLE, in_unit, summary

TOP_BUCKET = 7


@dataclass
class ValidationReport:
    """Predicted vs actual repeat purchases in the holdout, per calibration frequency and in total."""

    calibration_end: date
    holdout_end: date
    model: PredictiveModel  # fitted on the calibration period
    table: pd.DataFrame  # frequency bucket, customers, actual, predicted, error, relative_error (last row: total)

    @property
    def holdout_days(self) -> int:
        return (self.holdout_end - self.calibration_end).days

    @property
    def total(self) -> pd.Series:
        return self.table.iloc[-1]

    def summary_line(self) -> str:
        total = self.total
        return (
            f"fit on orders up to {self.calibration_end}, holdout {self.calibration_end + timedelta(days=1)} .. "
            f"{self.holdout_end} ({self.holdout_days} days): {int(total.customers):,} customers, "
            f"predicted {total.predicted:,.0f} repeat purchases, actual {total.actual:,.0f} "
            f"({total.relative_error:+.1%})"
        )


def validate(
    con: BaseBackend, as_of: date | str, *, project: Project | None = None,
    settings: PredictiveSettings | None = None, holdout_days: int | None = None,
) -> ValidationReport:  # fmt: skip
    """Fit as of ``as_of - holdout_days`` and compare its predictions with the holdout up to ``as_of``."""
    settings = settings_of(project, settings)
    end = as_of if isinstance(as_of, date) else date.fromisoformat(str(as_of))
    days = holdout_days or settings.holdout_days
    calibration_end = end - timedelta(days=days)
    calibration = summary(con, calibration_end, project)
    model = fit_summary(calibration, calibration_end, settings)
    later = compute_features(con, end, project, names=["btyd_frequency"]).rename(frequency_end="btyd_frequency")
    joined = calibration.join(later, "customer_id")
    actual = (joined.frequency_end - joined.btyd_frequency).cast("float64")
    grouped = joined.group_by(TRIPLE).aggregate(n=joined.count(), actual=actual.sum()).order_by(TRIPLE).to_pandas()
    grouped = in_unit(grouped, model.unit_days)
    expected = model.purchase_model().expected_purchases(
        days / model.unit_days, *(grouped[c].to_numpy(dtype=np.float64) for c in ("frequency", "recency", "T"))
    )
    grouped["predicted"] = grouped.n * expected
    return ValidationReport(calibration_end, end, model, bucket_table(grouped))


def bucket_table(grouped: pd.DataFrame) -> pd.DataFrame:
    """Sum customers, actual and predicted per frequency bucket 0..7+, then a total row."""
    bucket = np.minimum(grouped.frequency.to_numpy(), TOP_BUCKET).astype(int)
    per = grouped.assign(bucket=bucket).groupby("bucket")[["n", "actual", "predicted"]].sum()
    per = per.reindex(range(TOP_BUCKET + 1), fill_value=0)
    per.index = [str(b) if b < TOP_BUCKET else f"{TOP_BUCKET}+" for b in per.index]
    per.loc["total"] = per.sum()
    table = per.rename(columns={"n": "customers"}).rename_axis("frequency").reset_index()
    table["customers"] = table.customers.astype("int64")
    table["error"] = table.predicted - table.actual
    table["relative_error"] = table.error / table.actual.where(table.actual != 0)
    return table
