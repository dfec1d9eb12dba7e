"""BG/NBD, Pareto/NBD and Gamma-Gamma as scikit-learn-style estimators.

``__init__`` only stores settings, ``fit`` returns self, what is learned ends with ``_``.
``fit`` takes the summary with a weight per row: pass the DISTINCT (frequency, recency,
T) triples and how many customers share each, and fitting costs the same for ten
thousand customers or ten million. Parameters are fitted by maximum likelihood over
their logarithms (so they stay positive), with times scaled so the oldest customer is
1 (well-conditioned whatever the unit), then scaled back.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from segmento.errors import SegmentoError

Params = dict[str, float]


class NotConverged(SegmentoError):
    """The likelihood could not be maximised (too little or degenerate history)."""


def _weights(weights: ArrayLike | None, n: int) -> np.ndarray:
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or (w < 0).any() or w.sum() <= 0:
        raise SegmentoError("weights must be one non-negative count per row, not all zero")
    return w


def _check_summary(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
    if len(x) == 0:
        raise SegmentoError("no customer with orders to fit on: load orders first, or pick a later --as-of")
    if (x < 0).any() or (t_x < 0).any() or (t_x > T).any() or ((x == 0) & (t_x != 0)).any():
        raise SegmentoError("bad BTYD summary: need frequency >= 0, 0 <= recency <= T, recency 0 when frequency is 0")
    if np.any(x != np.round(x)):
        raise SegmentoError("bad BTYD summary: frequency must be a whole number of repeat purchases")


def _minimise(objective: Any, start: np.ndarray, with_gradient: bool) -> np.ndarray:
    """argmin over log-parameters: L-BFGS-B when ``objective`` returns (value, gradient), else Nelder-Mead."""
    from scipy.optimize import minimize

    if with_gradient:
        best = minimize(objective, start, jac=True, method="L-BFGS-B",
                        options={"maxiter": 10_000, "ftol": 1e-14, "gtol": 1e-10})  # fmt: skip
    else:
        options = {"maxiter": 20_000, "xatol": 1e-12, "fatol": 1e-15, "adaptive": True}
        best = minimize(objective, start, method="Nelder-Mead", options=options)
        best = minimize(objective, best.x, method="Nelder-Mead", options=options)  # restart: leaves false stalls
    if not np.all(np.isfinite(best.x)) or not np.isfinite(best.fun):
        raise NotConverged("the model did not converge: more history is needed, or set predictive.penalizer > 0")
    return best.x


class PurchaseModel:
    """What BG/NBD and Pareto/NBD share: fitting on weighted triples, scaling, predictions."""

    kind: ClassVar[str]
    names: ClassVar[tuple[str, ...]]
    scaled: ClassVar[tuple[str, ...]]  # parameters in time units (rates' scale)

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    # the model's formulas (over arrays), set by each subclass
    def _loglik(self, params: ArrayLike, x: Any, t_x: Any, T: Any) -> np.ndarray:
        raise NotImplementedError

    has_gradient: ClassVar[bool] = False

    def _objective(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> Any:
        """Minus the weighted mean log-likelihood of log-parameters (plus the penalty)."""
        total = w.sum()

        def objective(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            value = -(w * self._loglik(params, x, t_x, T)).sum() / total + self.penalizer * (params**2).sum()
            return float(value) if np.isfinite(value) else 1e300

        return objective

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None) -> Any:
        """Maximum likelihood on the summary (rows weighted by ``weights``, e.g. customers per distinct triple)."""
        x, t_x, age = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, T))
        _check_summary(x, t_x, age)
        w = _weights(weights, len(x))
        scale = 1.0 / age.max()
        t_x, age = t_x * scale, age * scale
        total = w.sum()
        objective = self._objective(x, t_x, age, w)
        log_params = _minimise(objective, np.zeros(len(self.names)), self.has_gradient)
        fitted = dict(zip(self.names, np.exp(log_params).tolist()))
        for name in self.scaled:
            fitted[name] /= scale
        self.params_ = fitted
        self.n_customers_ = int(round(total))
        self.n_rows_ = len(x)
        self.log_likelihood_ = float((w * self._loglik(self.param_values(), x, t_x / scale, age / scale)).sum())
        return self

    def param_values(self) -> list[float]:
        return [self.params_[name] for name in self.names]

    @classmethod
    def from_params(cls, params: Params, **settings: Any) -> Any:
        """A fitted model from stored parameters (a frozen version)."""
        model = cls(**settings)
        model.params_ = {name: float(params[name]) for name in cls.names}
        return model

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Each customer's log-likelihood under the fitted parameters."""
        return self._loglik(self.param_values(), frequency, recency, T)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        raise NotImplementedError

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        """Expected purchases in the next ``t`` time units (an array of horizons: one row per horizon)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        fitted = getattr(self, "params_", None)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in fitted.items()) if fitted else "not fitted"
        return f"{type(self).__name__}({shown})"


class BetaGeo(PurchaseModel):
    """BG/NBD (Fader, Hardie & Lee 2005): Poisson purchases while alive, a coin flip after each purchase."""

    kind = "bgnbd"
    names = ("r", "alpha", "a", "b")
    scaled = ("alpha",)

    def _loglik(self, params: ArrayLike, x: Any, t_x: Any, T: Any) -> np.ndarray:
        from segmento.predictive.formulas import bgnbd_loglik

        return bgnbd_loglik(params, x, t_x, T)

    has_gradient = True

    def _objective(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> Any:
        from segmento.predictive.formulas import BGNBDObjective

        return BGNBDObjective(x, t_x, T, w, self.penalizer)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        from segmento.predictive.formulas import bgnbd_p_alive

        return bgnbd_p_alive(self.param_values(), frequency, recency, T)

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        from segmento.predictive.formulas import bgnbd_expected

        return bgnbd_expected(self.param_values(), t, frequency, recency, T)


class ParetoNBD(PurchaseModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson purchases, exponential lifetime."""

    kind = "pareto_nbd"
    names = ("r", "alpha", "s", "beta")
    scaled = ("alpha", "beta")

    def _loglik(self, params: ArrayLike, x: Any, t_x: Any, T: Any) -> np.ndarray:
        from segmento.predictive.formulas import pareto_loglik

        return pareto_loglik(params, x, t_x, T)

    def p_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        from segmento.predictive.formulas import pareto_p_alive

        return pareto_p_alive(self.param_values(), frequency, recency, T)

    def expected_purchases(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> np.ndarray:
        from segmento.predictive.formulas import pareto_expected

        return pareto_expected(self.param_values(), t, frequency, recency, T)


class GammaGamma:
    """Gamma-Gamma spend model (Fader, Hardie & Lee 2005; note 025): each customer's mean order value.

    Fitted on customers with repeat purchases (frequency > 0, monetary value > 0);
    assumes spend is independent of purchase frequency.
    """

    kind = "gamma_gamma"
    names = ("p", "q", "v")

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    def fit(self, frequency: ArrayLike, monetary_value: ArrayLike, weights: ArrayLike | None = None) -> GammaGamma:
        from segmento.predictive.formulas import GammaGammaObjective, gamma_gamma_loglik

        x, m = (np.asarray(v, dtype=np.float64) for v in (frequency, monetary_value))
        w = _weights(weights, len(x))
        keep = (x > 0) & (m > 0)
        x, m, w = x[keep], m[keep], w[keep]
        if len(x) < 2:
            raise SegmentoError("too few repeat customers to fit the spend model (need frequency > 0 and spend > 0)")
        total = w.sum()
        objective = GammaGammaObjective(x, m, w, self.penalizer)
        self.params_ = dict(zip(self.names, np.exp(_minimise(objective, np.zeros(3), True)).tolist()))
        self.n_customers_ = int(round(total))
        self.n_rows_ = len(x)
        self.log_likelihood_ = float((w * gamma_gamma_loglik(self.param_values(), x, m)).sum())
        return self

    def param_values(self) -> list[float]:
        return [self.params_[name] for name in self.names]

    @classmethod
    def from_params(cls, params: Params, **settings: Any) -> GammaGamma:
        model = cls(**settings)
        model.params_ = {name: float(params[name]) for name in cls.names}
        return model

    def log_likelihood(self, frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
        from segmento.predictive.formulas import gamma_gamma_loglik

        return gamma_gamma_loglik(self.param_values(), frequency, monetary_value)

    def expected_average_value(self, frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
        """E[mean order value]: the population mean for one-time buyers, shrunk means for others."""
        from segmento.predictive.formulas import gamma_gamma_mean

        return gamma_gamma_mean(self.param_values(), frequency, monetary_value)

    def __repr__(self) -> str:
        fitted = getattr(self, "params_", None)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in fitted.items()) if fitted else "not fitted"
        return f"GammaGamma({shown})"


PURCHASE_MODELS: dict[str, type[PurchaseModel]] = {c.kind: c for c in (BetaGeo, ParetoNBD)}


def discounted_purchases(
    model: PurchaseModel, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
    months: int = 12, monthly_discount: float = 0.01, month_length: float = 30.0,
) -> np.ndarray:  # fmt: skip
    """Expected purchases over the next ``months`` months, each month's discounted.

    Each month's expected purchases (the difference of cumulative expectations) are
    divided by ``(1 + monthly_discount) ** month``; ``month_length`` is a month in the
    model's time unit (30 days, 4.345 weeks), as lifetimes counts it.
    """
    cumulative = model.expected_purchases(np.arange(months + 1) * month_length, frequency, recency, T)
    discount = (1 + monthly_discount) ** -np.arange(1, months + 1)
    return discount @ np.diff(cumulative, axis=0)


def lifetime_value(
    model: PurchaseModel, spend: GammaGamma, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
    monetary_value: ArrayLike, months: int = 12, monthly_discount: float = 0.01, month_length: float = 30.0,
) -> np.ndarray:  # fmt: skip
    """Discounted expected spend over the next ``months`` months: expected order value x discounted purchases."""
    value = spend.expected_average_value(frequency, monetary_value)
    return value * discounted_purchases(model, frequency, recency, T, months, monthly_discount, month_length)
