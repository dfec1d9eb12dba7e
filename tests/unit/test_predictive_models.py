"""BG/NBD, Pareto/NBD and Gamma-Gamma against the published CDNOW answers and lifetimes' own numbers.

Oracles: the parameters published for the CDNOW sample (Fader, Hardie & Lee 2005;
Hardie's notes; lifetimes' documentation), lifetimes' likelihood functions evaluated
at the same parameters, and lifetimes' predictions from its own fitted models.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmento.errors import SegmentoError
from segmento.predictive.models import BetaGeo, GammaGamma, ParetoNBD, lifetime_value

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

warnings.filterwarnings("ignore", module="lifetimes")
warnings.filterwarnings("ignore", message=".*(autograd|invalid value|divide by zero).*")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    data = load_cdnow_summary_data_with_monetary_value()
    assert len(data) == 2357
    return data


@pytest.fixture(scope="module")
def triples(cdnow: pd.DataFrame) -> pd.DataFrame:
    return cdnow.groupby(["frequency", "recency", "T"]).size().rename("n").reset_index()


@pytest.fixture(scope="module")
def bgnbd(triples: pd.DataFrame) -> BetaGeo:
    return BetaGeo().fit(triples.frequency, triples.recency, triples["T"], triples.n)


@pytest.fixture(scope="module")
def pareto(triples: pd.DataFrame) -> ParetoNBD:
    return ParetoNBD().fit(triples.frequency, triples.recency, triples["T"], triples.n)


@pytest.fixture(scope="module")
def spend(cdnow: pd.DataFrame) -> GammaGamma:
    repeat = cdnow[cdnow.frequency > 0]
    return GammaGamma().fit(repeat.frequency, repeat.monetary_value)


@pytest.fixture(scope="module")
def theirs(cdnow: pd.DataFrame) -> dict:
    repeat = cdnow[cdnow.frequency > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "bgnbd": BetaGeoFitter().fit(cdnow.frequency, cdnow.recency, cdnow["T"]),
            "pareto": ParetoNBDFitter().fit(cdnow.frequency, cdnow.recency, cdnow["T"]),
            "spend": GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value),
        }


def lifetimes_loglik(fitter: type, params: list[float], *columns: pd.Series, log: bool = True) -> float:
    """lifetimes' total log-likelihood at ``params`` (its functions return minus the sum over the weights'
    sum, or for Pareto/NBD over their mean, here 1)."""
    n = len(columns[0])
    arguments = [np.log(params) if log else np.asarray(params), *(c.to_numpy() for c in columns), np.ones(n), 0.0]
    return -fitter._negative_log_likelihood(*arguments) * (1 if fitter is ParetoNBDFitter else n)


def test_bgnbd_published_parameters(bgnbd: BetaGeo) -> None:
    expected = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in expected.items():
        assert bgnbd.params_[name] == pytest.approx(value, abs=6e-4), name
    assert bgnbd.n_customers_ == 2357 and bgnbd.n_rows_ < 2357  # fitted on distinct triples


def test_pareto_published_parameters(pareto: ParetoNBD) -> None:
    expected = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
    for name, value in expected.items():
        assert pareto.params_[name] == pytest.approx(value, rel=0.01), name


def test_gamma_gamma_published_parameters(spend: GammaGamma) -> None:
    expected = {"p": 6.25, "q": 3.74, "v": 15.44}
    for name, value in expected.items():
        assert spend.params_[name] == pytest.approx(value, abs=0.01), name  # published to 2 decimals
    assert spend.n_customers_ == 946


def test_log_likelihoods_equal_lifetimes(
    cdnow: pd.DataFrame, bgnbd: BetaGeo, pareto: ParetoNBD, spend: GammaGamma, theirs: dict
) -> None:
    x, t_x, T = cdnow.frequency, cdnow.recency, cdnow["T"]
    for ours, fitter in ((bgnbd, BetaGeoFitter), (pareto, ParetoNBDFitter)):
        log = fitter is BetaGeoFitter  # lifetimes' Pareto/NBD likelihood takes the parameters themselves
        assert ours.log_likelihood_ == pytest.approx(lifetimes_loglik(fitter, ours.param_values(), x, t_x, T, log=log),
                                                     abs=1e-6)  # fmt: skip
    repeat = cdnow[cdnow.frequency > 0]
    reference = lifetimes_loglik(GammaGammaFitter, spend.param_values(), repeat.frequency, repeat.monetary_value)
    assert spend.log_likelihood_ == pytest.approx(reference, abs=1e-6)
    # and our maximum is at least as high as the one lifetimes found, within 1e-6
    for ours, key, fitter in ((bgnbd, "bgnbd", BetaGeoFitter), (pareto, "pareto", ParetoNBDFitter)):
        found = lifetimes_loglik(fitter, list(theirs[key].params_), x, t_x, T, log=fitter is BetaGeoFitter)
        assert ours.log_likelihood_ >= found - 1e-6


def test_parameters_equal_lifetimes(bgnbd: BetaGeo, pareto: ParetoNBD, spend: GammaGamma, theirs: dict) -> None:
    # lifetimes stops its Pareto/NBD Nelder-Mead at tol 1e-6 from a random start: 1e-3 is its own precision
    # there (and our likelihood is at least as high, see above)
    for ours, key, rel in ((bgnbd, "bgnbd", 1e-5), (spend, "spend", 1e-5), (pareto, "pareto", 1e-3)):
        assert ours.param_values() == pytest.approx(list(theirs[key].params_), rel=rel), key


def predictions(model: BetaGeo | ParetoNBD, x: pd.Series, t_x: pd.Series, T: pd.Series) -> dict[str, np.ndarray]:
    return {"p_alive": model.p_alive(x, t_x, T),
            **{f"expected_{t}": model.expected_purchases(t, x, t_x, T) for t in (1, 13, 52)}}  # fmt: skip


def lifetimes_predictions(fitter, x: pd.Series, t_x: pd.Series, T: pd.Series) -> dict[str, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fitter.conditional_expected_number_of_purchases_up_to_time
        return {"p_alive": np.asarray(fitter.conditional_probability_alive(x, t_x, T), dtype=float),
                **{f"expected_{t}": np.asarray(expected(t, x, t_x, T), dtype=float) for t in (1, 13, 52)}}  # fmt: skip


@pytest.mark.parametrize("key", ["bgnbd", "pareto"])
def test_predictions_equal_lifetimes_at_the_same_parameters(cdnow: pd.DataFrame, theirs: dict, key: str) -> None:
    fitter = theirs[key]
    ours = (BetaGeo if key == "bgnbd" else ParetoNBD).from_params(fitter.params_.to_dict())
    x, t_x, T = cdnow.frequency, cdnow.recency, cdnow["T"]
    got, want = predictions(ours, x, t_x, T), lifetimes_predictions(fitter, x, t_x, T)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-6, atol=0, err_msg=name)


def test_spend_and_lifetime_value_equal_lifetimes(cdnow: pd.DataFrame, theirs: dict) -> None:
    purchase = BetaGeo.from_params(theirs["bgnbd"].params_.to_dict())
    spend = GammaGamma.from_params(dict(zip(GammaGamma.names, theirs["spend"].params_)))
    x, t_x, T, m = cdnow.frequency, cdnow.recency, cdnow["T"], cdnow.monetary_value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        their_value = theirs["spend"].conditional_expected_average_profit(x, m)
        their_clv = theirs["spend"].customer_lifetime_value(theirs["bgnbd"], x, t_x, T, m, time=12,
                                                            discount_rate=0.01, freq="W")  # fmt: skip
    np.testing.assert_allclose(spend.expected_average_value(x, m), their_value, rtol=1e-6)
    ours = lifetime_value(purchase, spend, x, t_x, T, m, months=12, monthly_discount=0.01, month_length=4.345)
    np.testing.assert_allclose(ours, their_clv.to_numpy(), rtol=1e-6)


def test_fitted_predictions_equal_lifetimes_fitted(cdnow: pd.DataFrame, bgnbd: BetaGeo, theirs: dict) -> None:
    """Each side fits, each side predicts: same per-customer answers to 1e-6 relative (BG/NBD).

    The two optima differ by ~1e-7 relative; on p_alive ~ 1e-11 (one customer) that is
    1e-6 relative too, hence the 1e-12 absolute floor.
    """
    x, t_x, T = cdnow.frequency, cdnow.recency, cdnow["T"]
    got, want = predictions(bgnbd, x, t_x, T), lifetimes_predictions(theirs["bgnbd"], x, t_x, T)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-6, atol=1e-12, err_msg=name)


summaries = st.lists(
    st.tuples(st.integers(0, 40), st.floats(0.0, 1.0), st.floats(1.0, 120.0)), min_size=1, max_size=30
).map(lambda rows: pd.DataFrame(
    [(x, 0.0 if x == 0 else round(u * T, 3), round(T, 3)) for x, u, T in rows], columns=["x", "t_x", "T"]
))  # fmt: skip
positive = st.floats(0.05, 20.0)


@settings(max_examples=150, deadline=None)
@given(data=summaries, r=positive, alpha=positive, a=positive, b=positive)
def test_bgnbd_formulas_equal_lifetimes_everywhere(data: pd.DataFrame, r, alpha, a, b) -> None:
    model = BetaGeo.from_params({"r": r, "alpha": alpha, "a": a, "b": b})
    fitter = BetaGeoFitter()
    fitter.params_ = pd.Series({"r": r, "alpha": alpha, "a": a, "b": b})
    ours = model.log_likelihood(data.x, data.t_x, data["T"]).sum()
    assert ours == pytest.approx(lifetimes_loglik(BetaGeoFitter, [r, alpha, a, b], data.x, data.t_x, data["T"]),
                                 rel=1e-9, abs=1e-9)  # fmt: skip
    np.testing.assert_allclose(model.p_alive(data.x, data.t_x, data["T"]),
                               fitter.conditional_probability_alive(data.x, data.t_x, data["T"]), rtol=1e-9)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(data=summaries, r=positive, alpha=positive, s=positive, beta=positive)
def test_pareto_formulas_equal_lifetimes_everywhere(data: pd.DataFrame, r, alpha, s, beta) -> None:
    params = [r, alpha, s, beta]
    ours = ParetoNBD.from_params(dict(zip(ParetoNBD.names, params))).log_likelihood(data.x, data.t_x, data["T"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = ParetoNBDFitter._conditional_log_likelihood(params, data.x.to_numpy(), data.t_x.to_numpy(),
                                                                data["T"].to_numpy())  # fmt: skip
    finite = np.isfinite(reference)
    np.testing.assert_allclose(ours[finite], reference[finite], rtol=1e-8, atol=1e-8)


def test_bad_summary_is_refused_with_what_is_wrong() -> None:
    with pytest.raises(SegmentoError, match="recency"):
        BetaGeo().fit([1, 2], [5.0, 9.0], [4.0, 10.0])
    with pytest.raises(SegmentoError, match="no customer"):
        BetaGeo().fit([], [], [])


@settings(max_examples=60, deadline=None)
@given(data=summaries, params=st.lists(positive, min_size=4, max_size=4), weights=st.integers(1, 5))
def test_bgnbd_fit_objective_is_the_likelihood_and_its_gradient(data: pd.DataFrame, params, weights: int) -> None:
    """The fit's fast objective (terms per distinct value) against the plain formula and finite differences."""
    from segmento.predictive.formulas import BGNBDObjective, bgnbd_loglik

    x, t_x, T = (data[c].to_numpy(dtype=float) for c in ("x", "t_x", "T"))
    w = np.arange(len(x)) % weights + 1.0
    objective = BGNBDObjective(x, t_x, T, w)
    value, gradient = objective(np.log(params))
    assert value == pytest.approx(-(w @ bgnbd_loglik(params, x, t_x, T)) / w.sum(), rel=1e-10, abs=1e-10)
    step = 1e-6
    for i in range(4):
        shift = np.zeros(4)
        shift[i] = step
        numeric = (objective(np.log(params) + shift)[0] - objective(np.log(params) - shift)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-4, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(1, 30), st.floats(0.5, 500.0)), min_size=1, max_size=30),
       params=st.lists(positive, min_size=3, max_size=3))
def test_gamma_gamma_fit_objective_is_the_likelihood_and_its_gradient(rows, params) -> None:
    from segmento.predictive.formulas import GammaGammaObjective, gamma_gamma_loglik

    x, m = (np.array(column, dtype=float) for column in zip(*rows))
    w = np.arange(len(x)) % 3 + 1.0
    objective = GammaGammaObjective(x, m, w)
    value, gradient = objective(np.log(params))
    assert value == pytest.approx(-(w @ gamma_gamma_loglik(params, x, m)) / w.sum(), rel=1e-10, abs=1e-10)
    step = 1e-6
    for i in range(3):
        shift = np.zeros(3)
        shift[i] = step
        numeric = (objective(np.log(params) + shift)[0] - objective(np.log(params) - shift)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-4, abs=1e-6)
