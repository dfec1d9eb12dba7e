"""The period grid: which dates a snapshot is taken at (period ends)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from segmento.errors import NotFoundError, SegmentoError

FREQUENCIES = {"monthly": "ME", "weekly": "W-SUN", "quarterly": "QE"}


def period_ends(start: date | str, end: date | str, grid: str = "monthly") -> list[date]:
    """Every period end between ``start`` and ``end`` (inclusive), e.g. each month's last day.

    ``start``/``end`` may be dates or 'YYYY-MM' (a month means its last day).
    """
    if grid not in FREQUENCIES:
        raise NotFoundError(f"unknown period grid {grid!r}; valid: {', '.join(FREQUENCIES)}")
    first, last = _as_date(start, grid), _as_date(end, grid)
    if last < first:
        raise SegmentoError(f"period range is empty: {first} is after {last}; give the earlier period first")
    return [stamp.date() for stamp in pd.date_range(first, last, freq=FREQUENCIES[grid])]


def period_end(day: date | str, grid: str = "monthly") -> date:
    """The end of the period holding ``day``."""
    return _as_date(day, grid)


def previous_period_end(day: date, grid: str = "monthly") -> date:
    """The end of the period before the one ending at ``day``."""
    if grid == "weekly":
        return day - timedelta(days=7)
    months = 3 if grid == "quarterly" else 1
    return (pd.Timestamp(day) - pd.offsets.MonthEnd(months)).date()


def _as_date(value: date | str, grid: str) -> date:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text + "-01" if len(text) == 7 else text)
        except ValueError:
            raise SegmentoError(f"{value!r} is not a date (YYYY-MM-DD) or a month (YYYY-MM)") from None
        if len(text) == 7:
            return (pd.Timestamp(value) + pd.offsets.MonthEnd(0)).date()
    stamp = pd.Timestamp(value)
    if grid == "weekly":
        return (stamp + pd.offsets.Week(weekday=6, n=0)).date()
    offset = pd.offsets.QuarterEnd(0) if grid == "quarterly" else pd.offsets.MonthEnd(0)
    return (stamp + offset).date()
