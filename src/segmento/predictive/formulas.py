"""The closed forms of BG/NBD, Pareto/NBD and Gamma-Gamma, vectorised over numpy arrays.

Each function takes the parameters as floats and the customer summary as arrays
(frequency x, recency t_x, age T, all in the same time unit). The formulas are
those of Fader, Hardie & Lee (2005, BG/NBD; Hardie's notes 004, 008, 009, 021, 025),
written in log space where the terms over- or underflow. scipy is imported here, so
this module is only loaded when a model is fitted or scored.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import digamma, expit, gammaln, hyp2f1

Array = NDArray[np.float64]


def _arrays(*values: ArrayLike) -> list[Array]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def _distinct_pairs(x: Array, T: Array) -> tuple[Array, Array, Array]:
    """The distinct (x, T) pairs and, per row, the index of its pair (1-D integer keys: a fast sort)."""
    xs, ix = np.unique(x, return_inverse=True)
    Ts, iT = np.unique(T, return_inverse=True)
    keys, inverse = np.unique(ix.astype(np.int64) * len(Ts) + iT, return_inverse=True)
    return xs[keys // len(Ts)], Ts[keys % len(Ts)], inverse


# ------------------------------------------------------------------------ BG/NBD


def bgnbd_loglik(params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """Log-likelihood of each (x, t_x, T) (Fader, Hardie & Lee 2005, eq. 6; note 004)."""
    r, alpha, a, b = map(float, params)
    x, t_x, T = _arrays(x, t_x, T)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(x > 0, np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(t_x + alpha), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def bgnbd_p_alive(params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """P(alive | x, t_x, T) (Hardie's note 021); 1 for customers without repeat purchases."""
    r, alpha, a, b = map(float, params)
    x, t_x, T = _arrays(x, t_x, T)
    log_div = (r + x) * np.log((alpha + T) / (alpha + t_x)) + np.log(a / (b + np.maximum(x, 1) - 1))
    return np.where(x == 0, 1.0, expit(-log_div))


def bgnbd_expected(params: ArrayLike, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """E[repeat purchases in (T, T + t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10).

    ``t`` may be a 1-D array of horizons: the result then has one row per horizon.
    """
    r, alpha, a, b = map(float, params)
    x, t_x, T = np.broadcast_arrays(*_arrays(x, t_x, T))
    horizons = np.atleast_1d(np.asarray(t, dtype=np.float64))[:, None]
    # the hypergeometric term depends on (x, T) only: evaluate it once per distinct pair and horizon
    ux, uT, inverse = _distinct_pairs(x.ravel(), T.ravel())
    _a, _b, _c = r + ux, b + ux, a + b + ux - 1
    z = horizons / (alpha + uT + horizons)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_hyp = np.log(hyp2f1(_a, _b, _c, z))
        overflow = np.isinf(log_hyp)
        if overflow.any():  # Euler's transformation where the series overflows (large x)
            c, a_, b_ = (np.broadcast_to(v, z.shape)[overflow] for v in (_c, _a, _b))
            log_hyp[overflow] = np.log(hyp2f1(c - a_, c - b_, c, z[overflow])) + (c - a_ - b_) * np.log1p(
                -z[overflow]
            )
    log_hyp = log_hyp[:, inverse.ravel()]
    x, t_x, T = x.ravel(), t_x.ravel(), T.ravel()
    numerator = (a + b + x - 1) / (a - 1) * (
        1 - np.exp(log_hyp + (r + x) * np.log((alpha + T) / (alpha + horizons + T)))
    )
    denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    result = numerator / denominator
    return result.reshape(-1, *np.shape(t_x)) if np.ndim(t) else result[0]


# -------------------------------------------------------------------- Pareto/NBD


def _pareto_log_a0(params: ArrayLike, x: Array, t_x: Array, T: Array) -> Array:
    """log A_0 of Hardie's note 009 (eqs. 19-20), the integral over the unobserved dropout time."""
    r, alpha, s, beta = map(float, params)
    low, high, second = (alpha, beta, r + x) if alpha < beta else (beta, alpha, s + 1)
    rsx = r + s + x
    gap = high - low
    q1, q2 = high + t_x, high + T
    term1 = np.log(hyp2f1(rsx, second, rsx + 1, gap / q1)) + rsx * np.log(q2)
    term2 = np.log(hyp2f1(rsx, second, rsx + 1, gap / q2)) + rsx * np.log(q1)
    with np.errstate(divide="ignore"):
        difference = term1 + np.log(-np.expm1(term2 - term1))  # log(e^term1 - e^term2), -inf when t_x == T
    return difference - rsx * np.log(q1 * q2)


def pareto_loglik(params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """Log-likelihood of each (x, t_x, T) under the Pareto/NBD (Hardie's note 009, eq. 18)."""
    r, alpha, s, beta = map(float, params)
    x, t_x, T = _arrays(x, t_x, T)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dead = np.log(s) + _pareto_log_a0(params, x, t_x, T) - np.log(r + s + x)
    return a1 + np.logaddexp(alive, dead)


def pareto_p_alive(params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """P(alive | x, t_x, T) (Hardie's note 009, eqs. 36-37)."""
    r, alpha, s, beta = map(float, params)
    x, t_x, T = _arrays(x, t_x, T)
    log_a0 = _pareto_log_a0(params, x, t_x, T)
    return expit(-(np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T) + log_a0))


def pareto_expected(params: ArrayLike, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """E[purchases in (T, T + t] | x, t_x, T] (Hardie's note 009, eq. 41); ``t`` may be an array of horizons."""
    r, alpha, s, beta = map(float, params)
    x, t_x, T = np.broadcast_arrays(*_arrays(x, t_x, T))
    horizons = np.atleast_1d(np.asarray(t, dtype=np.float64)).reshape(-1, *([1] * x.ndim))
    loglik = pareto_loglik(params, x, t_x, T)
    alive = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) - (r + x) * np.log(alpha + T)
    alive = alive - s * np.log(beta + T)
    rate = np.log(r + x) + np.log(beta + T) - np.log(alpha + T)
    with np.errstate(divide="ignore"):
        horizon = np.log((1 - ((beta + T) / (beta + T + horizons)) ** (s - 1)) / (s - 1))  # -inf at t = 0
    result = np.exp(alive + rate + horizon - loglik)
    return result if np.ndim(t) else result[0]


# -------------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_loglik(params: ArrayLike, x: ArrayLike, m: ArrayLike) -> Array:
    """Log-likelihood of each mean spend m over x repeat purchases (Hardie's note 025, eq. 1a)."""
    p, q, v = map(float, params)
    x, m = _arrays(x, m)
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(x * m + v)
    )  # fmt: skip


def gamma_gamma_mean(params: ArrayLike, x: ArrayLike, m: ArrayLike) -> Array:
    """E[mean spend | x, m]: the customer's mean shrunk toward the population's (note 025, eq. 5)."""
    p, q, v = map(float, params)
    x, m = _arrays(x, m)
    weight = p * x / (p * x + q - 1)
    return (1 - weight) * (v * p / (q - 1)) + weight * m


class BGNBDObjective:
    """Minus the mean BG/NBD log-likelihood of weighted rows and its gradient, in one pass.

    The transcendental terms are computed once per distinct frequency, recency and age
    (a few hundred values each) and gathered per row, so each evaluation costs a few
    multiply-adds and one log-sum-exp per row. Gradient with respect to log-parameters.
    """

    def __init__(self, x: Array, t_x: Array, T: Array, w: Array, penalizer: float = 0.0) -> None:
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.ut, self.it = np.unique(t_x, return_inverse=True)
        self.uT, self.iT = np.unique(T, return_inverse=True)
        self.x, self.w, self.total, self.penalizer = x, w, w.sum(), penalizer
        self.repeat = x > 0
        self.wx = np.bincount(self.ix, weights=w, minlength=len(self.ux))  # weight per distinct frequency

    def __call__(self, log_params: Array) -> tuple[float, Array]:
        r, alpha, a, b = params = np.exp(log_params)
        ux, x = self.ux, self.x
        log_aT, log_at = np.log(alpha + self.uT)[self.iT], np.log(alpha + self.ut)[self.it]
        b_x1 = (b + np.maximum(ux, 1) - 1)[self.ix]
        a3 = -(r + x) * log_aT
        # log(e^a3 + e^a4) = a3 + softplus(a4 - a3) and p4 = sigmoid(a4 - a3), with one exp per row;
        # customers without repeat purchases have no a4 term (p4 = 0)
        gap = np.where(self.repeat, np.log(a) - np.log(b_x1) - (r + x) * log_at - a3, 0.0)
        small = np.exp(-np.abs(gap))
        mixed = a3 + np.where(self.repeat, np.maximum(gap, 0.0) + np.log1p(small), 0.0)
        p4 = np.where(self.repeat, np.where(gap > 0, 1.0, small) / (1 + small), 0.0)
        p3 = 1 - p4
        per_x = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
                 + gammaln(a + b) + gammaln(b + ux) - gammaln(b) - gammaln(a + b + ux))  # fmt: skip
        loglik = self.wx @ per_x + self.w @ mixed
        w = self.w
        common = digamma(a + b) - digamma(a + b + ux)
        grad = np.array([
            self.wx @ (digamma(r + ux) - digamma(r) + np.log(alpha)) - w @ (p3 * log_aT + p4 * log_at),
            self.wx @ np.full(len(ux), r / alpha) - w @ ((r + x) * (p3 / (alpha + self.uT)[self.iT]
                                                                      + p4 / (alpha + self.ut)[self.it])),
            self.wx @ common + (w @ p4) / a,
            self.wx @ (common + digamma(b + ux) - digamma(b)) - w @ (p4 / b_x1),
        ])  # fmt: skip
        value = -loglik / self.total + self.penalizer * (params**2).sum()
        gradient = (-grad / self.total + 2 * self.penalizer * params) * params
        if not np.isfinite(value):
            return 1e300, np.zeros(4)
        return float(value), gradient


class GammaGammaObjective:
    """Minus the mean Gamma-Gamma log-likelihood of weighted (x, m) rows and its gradient, in one pass.

    The gamma-function terms depend on the frequency only: computed once per distinct x.
    """

    def __init__(self, x: Array, m: Array, w: Array, penalizer: float = 0.0) -> None:
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.x, self.m, self.w, self.total, self.penalizer = x, m, w, w.sum(), penalizer
        self.wx = np.bincount(self.ix, weights=w, minlength=len(self.ux))
        self.log_m_sum = np.bincount(self.ix, weights=w * np.log(m), minlength=len(self.ux))  # per x: sum w log m
        self.log_x = np.log(self.ux)

    def __call__(self, log_params: Array) -> tuple[float, Array]:
        p, q, v = params = np.exp(log_params)
        ux, wx = self.ux, self.wx
        pux = p * ux
        log_xm_v = np.log(self.x * self.m + v)
        px_q = (pux + q)[self.ix]
        loglik = (wx @ (gammaln(pux + q) - gammaln(pux) - gammaln(q) + q * np.log(v) + pux * self.log_x)
                  + (p * ux - 1) @ self.log_m_sum - self.w @ (px_q * log_xm_v))  # fmt: skip
        w_log_xm_v = np.bincount(self.ix, weights=self.w * log_xm_v, minlength=len(ux))
        grad = np.array([
            wx @ (ux * (digamma(pux + q) - digamma(pux) + self.log_x)) + ux @ self.log_m_sum - ux @ w_log_xm_v,
            wx @ (digamma(pux + q) - digamma(q) + np.log(v)) - w_log_xm_v.sum(),
            q / v * wx.sum() - self.w @ (px_q / (self.x * self.m + v)),
        ])  # fmt: skip
        value = -loglik / self.total + self.penalizer * (params**2).sum()
        if not np.isfinite(value):
            return 1e300, np.zeros(3)
        return float(value), (-grad / self.total + 2 * self.penalizer * params) * params
