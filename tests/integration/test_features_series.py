"""A feature series (lifetime partials carried from month to month) against features computed from raw history.

The base is generated, plus one planted customer whose orders sit on the edges the carried
state must get right: the last and first instants of two months, two orders on one day
(distinct days counted across months), months without any order, a consent withdrawn on
the first instant of a month.
"""

from __future__ import annotations

import math
import shutil
from datetime import date, datetime

import pandas as pd
import pyarrow as pa
import pytest
from dynamics_support import VALUE_TIERS

import segmento
from segmento.config import parse_project
from segmento.demo import generate
from segmento.dynamics.periods import period_ends
from segmento.dynamics.snapshots import backfill, take_snapshot
from segmento.features import compute_features
from segmento.features.series import FeatureSeries

END = date(2024, 6, 30)
EDGE = "C9999999"
LAST_JAN, FIRST_FEB = datetime(2024, 1, 31, 23, 59, 59, 999999), datetime(2024, 2, 1)
PLANTED_ORDERS = [  # (order id, when, amount)
    ("O9000000001", datetime(2023, 3, 10, 12), 10.5),
    ("O9000000002", datetime(2023, 11, 15, 9), 20.25),
    ("O9000000003", datetime(2023, 11, 15, 18), 5.0),
    ("O9000000004", LAST_JAN, 7.75),
    ("O9000000005", FIRST_FEB, 3.0),
    ("O9000000006", datetime(2024, 4, 30, 23, 59, 59, 999999), 12.0),
]
PROJECT = VALUE_TIERS + """  - {name: rfm, kind: rfm}
dynamics:
  rules:
    - {name: slide, segmentation: value, from: [very_good, good], direction: down, min_change: 0.2}
    - {name: stays-down, segmentation: value, from: [very_good, good], direction: down, persist: 2}
    - {name: upgrade, segmentation: value, from: [occasional], to: [good, very_good], kind: positive}
    - {name: overdue, segmentation: value, from: [very_good, good], trigger: condition, overdue: 2}
    - {name: rfm-slide, segmentation: rfm, direction: down}
"""


def _planted(data) -> dict[str, pa.Table]:
    """The generated base plus the edge customer's rows (same columns, types from the generated tables)."""
    tables = {name: getattr(data, name) for name in ("customers", "orders", "order_lines", "events", "consents")}
    customer = {**tables["customers"].slice(0, 1).to_pylist()[0], "customer_id": EDGE, "signup_date": date(2020, 1, 1)}
    orders = [{"order_id": oid, "customer_id": EDGE, "ordered_at": at, "amount": amount, "discount_amount": 0.0,
               "channel": "web", "currency": "EUR"} for oid, at, amount in PLANTED_ORDERS]
    lines = [{"order_id": oid, "line_no": 1, "product_id": "P00001", "category": "tennis", "size": "38",
              "quantity": 1, "unit_price": amount, "promo": False} for oid, _, amount in PLANTED_ORDERS]
    events = [{"event_id": f"E9{i:011d}", "customer_id": EDGE, "occurred_at": at, "type": kind, "channel": "web",
               "category": "tennis", "size": "38", "campaign_id": None, "properties": None}
              for i, (at, kind) in enumerate([(LAST_JAN, "social"), (FIRST_FEB, "social"), (LAST_JAN, "search")])]
    consents = [{"customer_id": EDGE, "channel": "email", "purpose": "marketing", "granted": granted,
                 "recorded_at": at, "source": "web_form"} for at, granted in [(datetime(2021, 5, 1), True),
                                                                               (FIRST_FEB, False)]]
    extra = {"customers": [customer], "orders": orders, "order_lines": lines, "events": events, "consents": consents}
    return {name: pa.concat_tables([table, pa.Table.from_pylist(extra[name], table.schema)])
            for name, table in tables.items()}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory):
    """A DuckDB file with the generated base (24 months, 300 customers) and the planted customer, both models fitted."""
    path = tmp_path_factory.mktemp("series") / "shop.duckdb"
    with segmento.connect(path, parse_project(PROJECT)) as ws:
        for name, table in _planted(generate(customers=300, months=24, seed=11, end=END)).items():
            assert ws.ingest(name, table).rejected == 0
        for name in ("value", "rfm"):
            ws.fit_segmentation(name, END)
    return path


def _sorted(table) -> pd.DataFrame:
    return table.to_pandas().sort_values("customer_id").reset_index(drop=True)


def _same(a: object, b: object) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or a != a) and (b is None or b != b)  # both missing
    if isinstance(a, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)  # a sum of monthly sums, not of the rows
    if hasattr(a, "tolist"):
        return list(a) == list(b)
    return a == b


def test_every_feature_of_every_month_equals_the_features_from_raw_history(base):
    with segmento.connect(base, parse_project(PROJECT)) as ws, FeatureSeries(ws.con, ws.project) as series:
        for day in period_ends("2023-09", END):
            carried, direct = _sorted(series.at(day)), _sorted(compute_features(ws.con, day, ws.project))
            assert list(carried.columns) == list(direct.columns) and len(carried) == len(direct) > 200
            for column in carried.columns:
                wrong = [i for i, (a, b) in enumerate(zip(carried[column], direct[column])) if not _same(a, b)]
                assert not wrong, f"{day} {column}: {carried.loc[wrong[:3], ['customer_id', column]]} " \
                                  f"vs {direct.loc[wrong[:3], column].tolist()}"
        assert {"_o_last", "_o_n_lifetime", "_o_spend_lifetime"} <= set(series.carried["orders"])
        assert {"_od_days", "_od_first", "_od_first_total", "_od_total"} <= set(series.carried["orders_daily"])
        assert {"_c_last_email", "_c_grant_email"} <= set(series.carried["consents"])


def test_the_planted_edges_by_hand(base):
    """Orders on the last and first instants of a month, two on one day, months without orders."""
    names = ["orders_lifetime", "spend_lifetime", "recency_days", "first_order_days", "btyd_frequency",
             "btyd_monetary_value", "social_90d", "consent_email"]
    with segmento.connect(base, parse_project(PROJECT)) as ws, FeatureSeries(ws.con, ws.project) as series:
        rows = {}
        for day in period_ends("2023-12", "2024-03"):
            table = series.at(day, names)
            rows[day] = table.filter(table.customer_id == EDGE).to_pandas().iloc[0]
    dec, jan, feb, mar = (rows[d] for d in period_ends("2023-12", "2024-03"))
    assert (dec.orders_lifetime, jan.orders_lifetime, feb.orders_lifetime, mar.orders_lifetime) == (3, 4, 5, 5)
    assert jan.spend_lifetime == pytest.approx(10.5 + 20.25 + 5.0 + 7.75)
    # order days: 10 Mar, 15 Nov (two orders), 31 Jan, 1 Feb
    assert (dec.btyd_frequency, jan.btyd_frequency, feb.btyd_frequency) == (1.0, 2.0, 3.0)
    assert feb.btyd_monetary_value == pytest.approx((25.25 + 7.75 + 3.0) / 3)
    assert (jan.recency_days, feb.recency_days, mar.recency_days) == (0, 28, 59)
    assert feb.first_order_days == (date(2024, 2, 29) - date(2023, 3, 10)).days
    assert (dec.social_90d, jan.social_90d, feb.social_90d) == (0, 1, 2)
    assert (bool(jan.consent_email), bool(feb.consent_email)) == (True, False)


def _outputs(con) -> tuple[list, list]:
    members = con.table("segment_snapshots").select("segmentation", "period", "customer_id", "segment_id", "value")
    alerts = con.table("alerts").select("alert_id", "from_segment", "to_segment", "priority", "reason")
    return (sorted(tuple(r.values()) for r in members.to_pyarrow().to_pylist()),
            sorted(tuple(r.values()) for r in alerts.to_pyarrow().to_pylist()))


def test_a_backfill_equals_the_periods_taken_one_by_one(base, tmp_path):
    """Memberships, values and alerts (with their reasons) of a backfill, against each period computed alone."""
    project = parse_project(PROJECT)
    shutil.copy(base, tmp_path / "alone.duckdb")
    shutil.copy(base, tmp_path / "backfilled.duckdb")
    periods = period_ends("2023-07", END)
    with segmento.connect(tmp_path / "alone.duckdb", project) as ws:
        for period in periods:
            take_snapshot(ws.con, project, period)
        alone = _outputs(ws.con)
    with segmento.connect(tmp_path / "backfilled.duckdb", project) as ws:
        reports = backfill(ws.con, project, periods[0], periods[-1])
        backfilled = _outputs(ws.con)
    assert sum(r.alerts for r in reports) == len(alone[1]) > 20
    assert backfilled[0] == alone[0]
    assert backfilled[1] == alone[1]
