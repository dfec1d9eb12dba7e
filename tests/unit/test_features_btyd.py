"""The BTYD summary equals lifetimes' summary_data_from_transaction_data (freq='D', observation end D)."""

from __future__ import annotations

import warnings
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
import pytest
from features_data import load
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmento

BTYD = ["btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary_value"]
D = date(2024, 6, 30)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> segmento.Workspace:
    workspace = segmento.connect(tmp_path_factory.mktemp("btyd") / "kb.duckdb")
    yield workspace
    workspace.close()


def lifetimes_summary(orders: list[dict], as_of: date) -> pd.DataFrame:
    """lifetimes' own summary; it drops orders after the observation end itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes 0.11 predates pandas 3
        from lifetimes.utils import summary_data_from_transaction_data

        return summary_data_from_transaction_data(
            pd.DataFrame(orders), "customer_id", "ordered_at", monetary_value_col="amount",
            observation_period_end=pd.Timestamp(as_of), freq="D",
        ).sort_index()  # fmt: skip


orders_strategy = st.lists(
    st.builds(
        dict,
        customer_id=st.sampled_from([f"c{i}" for i in range(6)]),
        ordered_at=st.builds(
            lambda day, seconds: datetime.combine(D - timedelta(days=day), time()) + timedelta(seconds=seconds),
            st.integers(-5, 700),
            st.sampled_from([0, 1, 3600 * 12, 86399]),
        ),
        amount=st.integers(1, 2000).map(lambda cents: cents / 8),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=orders_strategy)
def test_btyd_summary_equals_lifetimes(ws: segmento.Workspace, orders: list[dict]) -> None:
    customers = [dict(customer_id=f"c{i}", signup_date=date(2020, 1, 1)) for i in range(6)]
    rows = [dict(order_id=f"o{i}", channel="web", **order) for i, order in enumerate(orders)]
    load(ws.con, {"customers": customers, "orders": rows})

    ours = ws.features(D, names=BTYD).to_pyarrow().to_pandas().set_index("customer_id").sort_index()
    if all(order["ordered_at"].date() > D for order in orders):
        assert ours.isna().all().all()
        return
    theirs = lifetimes_summary(orders, D)[["frequency", "recency", "T", "monetary_value"]]

    with_orders = ours.loc[theirs.index]
    np.testing.assert_allclose(with_orders.to_numpy(dtype=float), theirs.to_numpy(dtype=float), rtol=1e-12, atol=1e-9)
    assert ours.drop(theirs.index).isna().all().all(), "customers without orders up to D have no BTYD summary"

    # the buying rhythm: lifetimes' recency over frequency (mean gap between order days), null below two days
    rhythm = ws.features(D, names=["order_interval_days"]).to_pandas().set_index("customer_id").order_interval_days
    repeat = theirs[theirs.frequency > 0]
    np.testing.assert_allclose(rhythm.loc[repeat.index].to_numpy(float), (repeat.recency / repeat.frequency).to_numpy(float))
    assert rhythm.drop(repeat.index).isna().all()
