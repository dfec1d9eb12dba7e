"""The ``predictive`` section of segmento.yaml: which purchase model, in which time unit, CLV terms.

    predictive:
      model: bgnbd            # bgnbd (BG/NBD) or pareto_nbd (Pareto/NBD); spend: Gamma-Gamma
      unit: week              # day or week: the time unit of the fit (and of the stored parameters)
      discount_rate: 0.01     # monthly discount rate of clv_12m
      penalizer: 0.0          # L2 penalty on the parameters; raise it (0.001) when a fit does not converge
      holdout_days: 180       # validation: calibration ends this many days before the report's date
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from segmento.settings import Strict

UNIT_DAYS = {"day": 1.0, "week": 7.0}
MONTH_DAYS = {"day": 30.0, "week": 4.345 * 7}  # a month as lifetimes counts it (30 days, 4.345 weeks)


class PredictiveSettings(Strict):
    """How predictive traits are fitted and scored."""

    model: Literal["bgnbd", "pareto_nbd"] = Field("bgnbd", description="purchase model: BG/NBD or Pareto/NBD")
    unit: Literal["day", "week"] = Field("week", description="time unit of the fit and of the stored parameters")
    discount_rate: float = Field(0.01, ge=0, lt=1, description="monthly discount rate of clv_12m")
    penalizer: float = Field(0.0, ge=0, description="L2 penalty on the parameters (0: plain maximum likelihood)")
    holdout_days: int = Field(180, ge=7, description="length of the holdout period of the validation report")
