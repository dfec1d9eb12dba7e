"""Every named RFM segment is reachable with the default (consistent) windows, on a base shaped
like the public CDNOW history: 18 months of first purchases, most customers bought once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

import segmento
from segmento.config import parse_project
from segmento.segmentations.rfm import DEFAULT_MAP, NO_PURCHASE

AS_OF = date(1998, 6, 30)
START = date(1997, 1, 1)


def cdnow_like(customers: int = 3000, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """First purchases over Q1 1997 like CDNOW's cohort, 60% one-time buyers, repeat buyers at their own pace."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(customers):
        day = START + timedelta(days=int(rng.integers(0, 90)))
        repeats = 0 if rng.random() < 0.6 else int(rng.geometric(0.1))
        gap = rng.uniform(7, 90)
        basket = rng.lognormal(3.3, 0.6)
        stops = day + timedelta(days=int(rng.uniform(30, 560)))  # everyone stops buying one day
        for n in range(repeats + 1):
            if day > AS_OF or (n and day > stops):
                break
            rows.append((f"o{len(rows)}", f"c{i}", datetime.combine(day, datetime.min.time()), round(basket * rng.lognormal(0, 0.3), 2)))
            day += timedelta(days=max(1, int(rng.exponential(gap))))
    orders = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount"]).assign(channel="web")
    customers_frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(customers)], "signup_date": START})
    return customers_frame, orders


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    customers, orders = cdnow_like()
    project = parse_project("segmentations:\n  - {name: rfm, kind: rfm}\n  - {name: mixed, kind: rfm, "
                            "frequency: orders_12m, monetary: spend_12m}\n")
    with segmento.connect(tmp_path_factory.mktemp("cdnow") / "cdnow.duckdb", project) as ws:
        assert ws.ingest("customers", customers).rejected == 0
        assert ws.ingest("orders", orders).rejected == 0
        yield ws, orders


def sizes(ws, name: str) -> pd.Series:
    return ws.segments(name, AS_OF).to_pandas().segment_id.value_counts()


def test_most_customers_bought_once(workspace):
    _, orders = workspace
    per_customer = orders.groupby("customer_id").size()
    assert (per_customer == 1).mean() > 0.55


def test_every_named_cell_is_reachable_with_the_default_windows(workspace):
    ws, orders = workspace
    model = ws.fit_segmentation("rfm", AS_OF)
    assert model.features == ["recency_days", "orders_lifetime", "spend_lifetime"]  # one window for all three
    found = sizes(ws, "rfm")
    named = [entry["id"] for entry in DEFAULT_MAP]
    assert [s for s in named if found.get(s, 0) == 0] == []
    assert NO_PURCHASE not in found  # every customer of this base bought
    # the oracle for the two cells the issue found empty: old, frequent, big buyers exist
    lifetime = orders.groupby("customer_id").agg(n=("order_id", "size"), spend=("amount", "sum"),
                                                 last=("ordered_at", "max"))
    old_and_big = lifetime[(lifetime["last"] < pd.Timestamp(AS_OF) - pd.Timedelta(days=365)) & (lifetime.n >= 4)]
    assert len(old_and_big) > 0 and found["cant_lose"] + found["at_risk"] > 0


def test_mixed_windows_leave_the_at_risk_cells_empty(workspace):
    """What the consistent default avoids: all-time recency with 12-month F and M."""
    ws, _ = workspace
    ws.fit_segmentation("mixed", AS_OF)
    found = sizes(ws, "mixed")
    assert found.get("cant_lose", 0) == 0 and found.get("at_risk", 0) == 0
