"""Predictive traits through the engine: CDNOW transactions in a real DuckDB knowledge base.

Oracles: the published CDNOW parameters, lifetimes' own summary, fit and predictions
on the same transactions (summary_data_from_transaction_data, calibration_and_holdout_data).
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import segmento
from segmento.errors import NotReadyError
from segmento.features import catalog
from segmento.predictive import fit_model, fitted_versions, load_model, model_as_of, traits, validate
from segmento.predictive.settings import PredictiveSettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.datasets import load_dataset
    from lifetimes.utils import summary_data_from_transaction_data

warnings.filterwarnings("ignore", module="lifetimes")
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)
TRAIT_NAMES = ["p_alive", "expected_orders_90d", "expected_orders_365d", "expected_avg_order_value", "clv_12m"]


def cdnow_orders() -> pd.DataFrame:
    raw = load_dataset("CDNOW_sample.txt", header=None, sep=r"\s+")
    raw.columns = ["original_id", "customer", "day", "quantity", "amount"]
    return pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(raw))],
        "customer_id": "c" + raw.customer.astype(str),
        "ordered_at": pd.to_datetime(raw.day.astype(str)),
        "amount": raw.amount.astype(float),
        "channel": "web",
    })  # fmt: skip


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return cdnow_orders()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory, orders: pd.DataFrame) -> segmento.Workspace:
    workspace = segmento.connect(tmp_path_factory.mktemp("predictive") / "cdnow.duckdb")
    first = orders.groupby("customer_id").ordered_at.min().dt.date
    workspace.ingest("customers", pd.DataFrame({"customer_id": first.index, "signup_date": first.values}))
    workspace.ingest("orders", orders)
    yield workspace
    workspace.close()


def lifetimes_summary(orders: pd.DataFrame, end: date) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = summary_data_from_transaction_data(orders, "customer_id", "ordered_at", monetary_value_col="amount",
                                                     observation_period_end=pd.Timestamp(end), freq="D")  # fmt: skip
    return summary.assign(recency=summary.recency / 7, T=summary["T"] / 7).sort_index()


def test_no_model_is_a_clear_error_and_all_features_still_compute(ws: segmento.Workspace) -> None:
    with pytest.raises(NotReadyError, match=r"no predictive model fitted: run `segmento predict fit --as-of"):
        traits(ws.con, CALIBRATION_END).execute()
    everything = ws.features(CALIBRATION_END)  # the catalog lists the traits; computing all leaves them out
    assert "p_alive" not in everything.columns and "btyd_frequency" in everything.columns
    assert {"p_alive", "clv_12m"} <= {f.name for f in catalog()}


def test_engine_fit_reproduces_the_published_parameters(ws: segmento.Workspace, orders: pd.DataFrame) -> None:
    model = fit_model(ws.con, CALIBRATION_END, store=False)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert model.params[name] == pytest.approx(value, abs=1.5e-3), name
    assert model.fit["customers"] == 2357 and model.fit["distinct_triples"] < 1100
    # the same as lifetimes fitting its own summary of the same transactions
    summary = lifetimes_summary(orders, CALIBRATION_END)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = BetaGeoFitter().fit(summary.frequency, summary.recency, summary["T"])
        repeat = summary[summary.frequency > 0]
        spend = GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value)
    assert list(model.params.values()) == pytest.approx(list(theirs.params_), rel=1e-5)
    assert list(model.spend_params.values()) == pytest.approx(list(spend.params_), rel=1e-5)
    reference = -BetaGeoFitter._negative_log_likelihood(
        np.log(list(model.params.values())), summary.frequency.to_numpy(), summary.recency.to_numpy(),
        summary["T"].to_numpy(), np.ones(len(summary)), 0.0) * len(summary)  # fmt: skip
    assert model.fit["log_likelihood"] == pytest.approx(reference, abs=1e-6)


def test_engine_pareto_reproduces_the_published_parameters(ws: segmento.Workspace) -> None:
    model = fit_model(ws.con, CALIBRATION_END, settings=PredictiveSettings(model="pareto_nbd"), store=False)
    for name, value in {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}.items():
        assert model.params[name] == pytest.approx(value, rel=0.01), name


def test_day_unit_gives_the_same_model_in_days(ws: segmento.Workspace) -> None:
    weeks = fit_model(ws.con, CALIBRATION_END, store=False)
    days = fit_model(ws.con, CALIBRATION_END, settings=PredictiveSettings(unit="day"), store=False)
    assert days.params["alpha"] == pytest.approx(weeks.params["alpha"] * 7, rel=1e-5)
    assert [days.params[k] for k in "r a b".split()] == pytest.approx([weeks.params[k] for k in "r a b".split()],
                                                                     rel=1e-5)  # fmt: skip


def test_traits_equal_lifetimes_per_customer(ws: segmento.Workspace, orders: pd.DataFrame) -> None:
    model = fit_model(ws.con, CALIBRATION_END)
    got = traits(ws.con, CALIBRATION_END).to_pandas().set_index("customer_id").sort_index()
    summary = lifetimes_summary(orders, CALIBRATION_END)
    fitter, spend = BetaGeoFitter(), GammaGammaFitter()
    fitter.params_ = pd.Series(model.params)
    fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time  # what lifetimes' fit sets
    spend.params_ = pd.Series(model.spend_params)
    x, t_x, T, m = summary.frequency, summary.recency, summary["T"], summary.monetary_value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = {
            "p_alive": fitter.conditional_probability_alive(x, t_x, T),
            "expected_orders_90d": fitter.conditional_expected_number_of_purchases_up_to_time(90 / 7, x, t_x, T),
            "expected_orders_365d": fitter.conditional_expected_number_of_purchases_up_to_time(365 / 7, x, t_x, T),
            "expected_avg_order_value": spend.conditional_expected_average_profit(x, m),
            "clv_12m": spend.customer_lifetime_value(fitter, x, t_x, T, m, time=12, discount_rate=0.01, freq="W"),
        }
    assert list(got.index) == list(summary.index)
    for name, values in expected.items():
        np.testing.assert_allclose(got[name].to_numpy(), np.asarray(values, dtype=float), rtol=1e-6, err_msg=name)


def test_frozen_versions_and_point_in_time(ws: segmento.Workspace, orders: pd.DataFrame, tmp_path) -> None:
    """Traits as of D use the model fitted as of D or before, and orders after D change nothing."""
    early = date(1997, 6, 30)
    first = fit_model(ws.con, early)
    later = fit_model(ws.con, CALIBRATION_END)
    assert later.version > first.version
    assert model_as_of(ws.con, date(1997, 8, 15)).version == first.version
    assert model_as_of(ws.con, HOLDOUT_END).version == later.version
    assert load_model(ws.con, first.version).params == first.params
    with pytest.raises(NotReadyError, match="no predictive model fitted as of 1997-03-31"):
        traits(ws.con, date(1997, 3, 31)).execute()
    with pytest.raises(NotReadyError, match="the first saw 1997-06-30 to the end of the day, after this instant"):
        traits(ws.con, datetime(1997, 6, 30, 12)).execute()  # the model fitted as of that day saw its afternoon
    assert list(fitted_versions(ws.con).version)[-2:] == [first.version, later.version]

    # a second base holding only the orders up to D, with the same frozen model, gives the same traits as of D
    day = date(1997, 8, 15)
    cut = segmento.connect(tmp_path / "cut.duckdb")
    visible = orders[orders.ordered_at < pd.Timestamp(day + timedelta(days=1))]
    signup = orders.groupby("customer_id").ordered_at.min().dt.date
    cut.ingest("customers", pd.DataFrame({"customer_id": signup.index, "signup_date": signup.values}))
    cut.ingest("orders", visible)
    fit_model(cut.con, early)
    full = traits(ws.con, day).to_pandas().sort_values("customer_id").reset_index(drop=True)
    short = traits(cut.con, day).to_pandas().sort_values("customer_id").reset_index(drop=True)
    cut.close()
    # DuckDB sums in parallel, in no fixed order: the fits agree to about 1e-9, while a later order leaking in
    # would move a customer's traits by far more
    pd.testing.assert_frame_equal(full, short, check_exact=False, rtol=1e-7)
    assert full.p_alive.notna().sum() > 1000


def test_traits_in_audience_rules(ws: segmento.Workspace) -> None:
    fit_model(ws.con, CALIBRATION_END)
    ws.audiences.define("slipping", "p_alive < 0.3 and clv_12m >= 0")
    members = set(ws.audience_members("slipping", HOLDOUT_END).to_pandas().customer_id)
    values = traits(ws.con, HOLDOUT_END).to_pandas()
    assert members == set(values[values.p_alive < 0.3].customer_id) and members


def test_validation_report_equals_lifetimes_calibration_holdout(ws: segmento.Workspace, orders: pd.DataFrame) -> None:
    report = validate(ws.con, HOLDOUT_END, holdout_days=(HOLDOUT_END - CALIBRATION_END).days)
    # lifetimes' calibration summary, and the holdout counted by hand: distinct order days in (C, H]
    frame = lifetimes_summary(orders, CALIBRATION_END)
    days = orders.assign(day=orders.ordered_at.dt.normalize()).drop_duplicates(["customer_id", "day"])
    holdout = days[(days.day > pd.Timestamp(CALIBRATION_END)) & (days.day <= pd.Timestamp(HOLDOUT_END))]
    frame["frequency_holdout"] = holdout.groupby("customer_id").size().reindex(frame.index, fill_value=0)
    fitter = BetaGeoFitter()
    fitter.params_ = pd.Series(report.model.params)
    frame["predicted"] = fitter.conditional_expected_number_of_purchases_up_to_time(
        273 / 7, frame.frequency, frame.recency, frame["T"])
    frame["frequency_cal"] = frame.frequency
    frame["bucket"] = np.minimum(frame.frequency_cal, 7)
    expected = frame.groupby("bucket").agg(customers=("predicted", "size"), actual=("frequency_holdout", "sum"),
                                           predicted=("predicted", "sum"))  # fmt: skip
    table = report.table.set_index("frequency")
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+", "total"]
    np.testing.assert_array_equal(table.customers.iloc[:8], expected.customers)
    np.testing.assert_allclose(table.actual.iloc[:8], expected.actual)
    np.testing.assert_allclose(table.predicted.iloc[:8], expected.predicted, rtol=1e-9)
    assert table.loc["total", "actual"] == frame.frequency_holdout.sum()
    assert table.loc["total", "error"] == pytest.approx(frame.predicted.sum() - frame.frequency_holdout.sum())
    assert "predicted" in report.summary_line() and report.holdout_days == 273


def test_models_and_scores_on_a_bare_connection(orders: pd.DataFrame, tmp_path) -> None:
    """A summary table on a connection no Workspace opened: the model and score tables are created on demand."""
    import ibis

    from segmento.predictive.api import fit_summary
    from segmento.predictive.registry import store_model
    from segmento.predictive.scoring import score_summary

    summary = lifetimes_summary(orders, CALIBRATION_END)
    con = ibis.duckdb.connect(str(tmp_path / "bare.duckdb"))
    con.create_table("summary", pd.DataFrame({
        "customer_id": summary.index, "btyd_frequency": summary.frequency.astype(float),
        "btyd_recency": summary.recency * 7, "btyd_T": summary["T"] * 7, "btyd_monetary_value": summary.monetary_value,
    }))  # fmt: skip
    model = store_model(con, fit_summary(con.table("summary"), CALIBRATION_END, PredictiveSettings()))
    assert model.version == 1 and model.params["r"] == pytest.approx(0.243, abs=1.5e-3)
    assert score_summary(con, model, con.table("summary")).count().execute() == 2357
