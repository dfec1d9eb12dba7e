"""Features as of D equal a brute-force oracle, and rows after D change nothing (point in time)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from features_data import knowledge_base, load, merged, rows_by_customer, assert_same
from features_oracle import Oracle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmento
from segmento.features import catalog, compute_features

DAYS = st.sampled_from([date(2024, 2, 29), date(2024, 6, 30), date(2023, 3, 31), date(2024, 12, 31)])


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> segmento.Workspace:
    workspace = segmento.connect(tmp_path_factory.mktemp("pit") / "kb.duckdb")
    yield workspace
    workspace.close()


@st.composite
def scenario(draw: st.DrawFn) -> tuple[date | datetime, dict, dict]:
    day = draw(DAYS)
    as_of = draw(st.one_of(st.just(day), st.sampled_from([datetime.combine(day, time(23, 59, 59, 999999))])))
    return as_of, draw(knowledge_base(day)), draw(knowledge_base(day, late=True))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=scenario())
def test_features_match_the_oracle_and_ignore_what_comes_after(ws: segmento.Workspace, case: tuple) -> None:
    as_of, base, late = case
    expected = Oracle(base, as_of).rows()

    load(ws.con, base)
    assert_same(rows_by_customer(ws.features(as_of).to_pyarrow()), expected)

    load(ws.con, merged(base, late))
    assert_same(rows_by_customer(ws.features(as_of).to_pyarrow()), expected)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=DAYS, data=st.data())
def test_an_instant_as_of_sees_only_rows_up_to_that_instant(
    ws: segmento.Workspace, day: date, data: st.DataObject
) -> None:
    as_of = datetime.combine(day, time(9, 30))
    base = data.draw(knowledge_base(day))
    load(ws.con, base)
    assert_same(rows_by_customer(ws.features(as_of).to_pyarrow()), Oracle(base, as_of).rows())


def test_columns_follow_the_catalog_with_its_types(ws: segmento.Workspace) -> None:
    load(ws.con, {})
    table = compute_features(ws.con, date(2024, 6, 30))
    # no predictive model is fitted here: computing every feature leaves the predictive traits out
    listed = [f for f in catalog() if not f.name.startswith("share_cat_")]
    assert {f.name for f in listed if f.source == "provided"} >= {"p_alive", "clv_12m"}
    expected = ["customer_id", *(f.name for f in listed if f.source != "provided")]
    assert list(table.columns) == expected
    types = {f.name: f.dtype for f in catalog()}
    assert {name: str(dtype) for name, dtype in table.schema().items() if name != "customer_id"} == {
        name: types[name] for name in expected[1:]
    }


def test_names_picks_features_in_the_given_order(ws: segmento.Workspace) -> None:
    load(ws.con, {})
    table = ws.features(date(2024, 6, 30), names=["spend_12m", "age"])
    assert list(table.columns) == ["customer_id", "spend_12m", "age"]
