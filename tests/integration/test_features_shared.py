"""Features shared in a batch step (a monthly run's snapshot, alerts and refresh): each instant's declared
features are computed once, together, when first asked for, and equal the features computed apart."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pyarrow as pa
import pytest

import segmento
from segmento.demo import generate
from segmento.features import compute_features
from segmento.features.compute import share
from segmento.store.backend import batch_step

END, BEFORE = date(2024, 6, 30), date(2024, 5, 31)
FIRST, SECOND = ["recency_days", "spend_12m"], ["orders_12m", "spend_12m", "tenure_days"]


@pytest.fixture()
def ws(tmp_path):
    with segmento.connect(tmp_path / "shop.duckdb") as ws:
        data = generate(customers=150, months=14, seed=3, end=END)
        for name in ("customers", "orders", "order_lines", "events", "consents"):
            assert ws.ingest(name, getattr(data, name)).rejected == 0
        yield ws


def rows(table) -> pd.DataFrame:
    return table.to_pandas().sort_values("customer_id").reset_index(drop=True)


def late_order(ws, customer: str) -> None:
    """An order of ``customer`` dated before ``BEFORE``, recorded now."""
    orders = ws.con.table("orders").limit(1).to_pyarrow()
    order = {**orders.to_pylist()[0], "order_id": "O-LATE-1", "customer_id": customer,
             "ordered_at": datetime(2024, 5, 2, 10), "amount": 99.5}
    assert ws.ingest("orders", pa.Table.from_pylist([order], orders.schema)).rejected == 0


def test_shared_features_are_computed_once_per_instant_and_equal_those_computed_apart(ws) -> None:
    con, project = ws.con, ws.project
    apart = {day: {tuple(names): rows(compute_features(con, day, project, names)) for names in (FIRST, SECOND)}
             for day in (END, BEFORE)}
    customer = apart[END][tuple(SECOND)].customer_id[0]
    with batch_step(con):
        share(con, END, FIRST + SECOND)
        share(con, datetime(2024, 5, 31, 23, 59, 59, 999999), FIRST)  # the same instant as the date
        share(con, BEFORE, SECOND)
        for day in (END, BEFORE):
            pd.testing.assert_frame_equal(rows(compute_features(con, day, project, FIRST)), apart[day][tuple(FIRST)])
        late_order(ws, customer)  # seen only by what is computed from now on
        for day in (END, BEFORE):  # read from the tables computed at the first ask: the late order is not there
            pd.testing.assert_frame_equal(rows(compute_features(con, day, project, SECOND)), apart[day][tuple(SECOND)])
        # features not shared are computed apart, and see it
        recomputed = rows(compute_features(con, END, project, ["orders_12m", "orders_lifetime"]))
        assert recomputed.orders_12m.tolist() != apart[END][tuple(SECOND)].orders_12m.tolist()
    counted = apart[END][tuple(SECOND)].orders_12m.fillna(0).tolist()
    counted[0] += 1  # the customer who ordered late comes first
    assert rows(compute_features(con, END, project, SECOND)).orders_12m.fillna(0).tolist() == counted
    assert recomputed.orders_12m.fillna(0).tolist() == counted


def test_features_that_cannot_be_computed_yet_are_left_to_whoever_asks(ws) -> None:
    """No predictive model fitted: the traits shared are not computed with the others; asking for them
    fails as it does outside a step, and the other features are still shared."""
    con, project = ws.con, ws.project
    with pytest.raises(Exception) as outside:
        compute_features(con, END, project, ["p_alive"]).to_pyarrow()
    with batch_step(con):
        share(con, END, ["p_alive", *FIRST])
        assert rows(compute_features(con, END, project, FIRST)).shape[0] > 100
        with pytest.raises(type(outside.value)) as inside:
            compute_features(con, END, project, ["p_alive"]).to_pyarrow()
    assert str(inside.value) == str(outside.value)
