"""The period grid in plain calendar arithmetic, checked against pandas' offsets (the oracle)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmento.dynamics.periods import period_end, period_ends, previous_period_end
from segmento.errors import NotFoundError, SegmentoError

OFFSETS = {"monthly": pd.offsets.MonthEnd, "weekly": lambda n: pd.offsets.Week(weekday=6, n=n),
           "quarterly": pd.offsets.QuarterEnd}
FREQUENCIES = {"monthly": "ME", "weekly": "W-SUN", "quarterly": "QE"}
days = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))
grids = st.sampled_from(sorted(OFFSETS))


def pandas_end(day: date, grid: str) -> date:
    return (pd.Timestamp(day) + OFFSETS[grid](0)).date()


@settings(max_examples=400)
@given(days, grids)
def test_the_end_of_the_period_holding_a_day_is_pandas_anchored_offset(day, grid):
    assert period_end(day, grid) == pandas_end(day, grid)
    assert period_end(day.isoformat(), grid) == pandas_end(day, grid)
    assert period_end(datetime(day.year, day.month, day.day, 23, 59), grid) == pandas_end(day, grid)


@settings(max_examples=400)
@given(days, grids)
def test_the_previous_period_end_is_pandas_step_back(day, grid):
    end = period_end(day, grid)
    months = {"monthly": 1, "quarterly": 3}
    expected = end - pd.Timedelta(days=7) if grid == "weekly" else (pd.Timestamp(end) - pd.offsets.MonthEnd(months[grid]))
    assert previous_period_end(end, grid) == pd.Timestamp(expected).date()


@settings(max_examples=300)
@given(days, st.integers(min_value=0, max_value=800), grids)
def test_period_ends_between_two_days_are_pandas_date_range(start, span, grid):
    end = date.fromordinal(start.toordinal() + span)
    expected = [s.date() for s in pd.date_range(pandas_end(start, grid), pandas_end(end, grid), freq=FREQUENCIES[grid])]
    assert period_ends(start, end, grid) == expected


def test_a_month_means_its_last_day_then_the_grid_applies():
    assert period_end("2024-02") == date(2024, 2, 29)
    assert period_end("2024-02", "quarterly") == date(2024, 3, 31)
    assert period_ends("2023-11", "2024-02") == [date(2023, 11, 30), date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29)]


def test_bad_input_is_a_user_error_naming_it():
    with pytest.raises(SegmentoError, match="'2024-13' is not a date"):
        period_end("2024-13")
    with pytest.raises(NotFoundError, match="unknown period grid 'daily'"):
        period_end("2024-01-01", "daily")
    with pytest.raises(SegmentoError, match="period range is empty"):
        period_ends("2024-05", "2024-01")
