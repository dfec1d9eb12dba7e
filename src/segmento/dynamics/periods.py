"""The period grid: which dates a snapshot is taken at (period ends).

Plain calendar arithmetic (no pandas), so the CLI can read a ``--period`` without loading
a data frame library; tests check it against pandas' offsets.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

from segmento.errors import NotFoundError, SegmentoError

GRIDS = ("monthly", "weekly", "quarterly")  # weeks end on Sunday, quarters in March, June, September, December


def period_ends(start: date | str, end: date | str, grid: str = "monthly") -> list[date]:
    """Every period end between ``start`` and ``end`` (inclusive), e.g. each month's last day.

    ``start``/``end`` may be dates or 'YYYY-MM' (a month means its last day).
    """
    first, last = period_end(start, grid), period_end(end, grid)
    if last < first:
        raise SegmentoError(f"period range is empty: {first} is after {last}; give the earlier period first")
    ends, current = [], first
    while current <= last:
        ends.append(current)
        current = _next(current, grid)
    return ends


def period_end(day: date | str, grid: str = "monthly") -> date:
    """The end of the period holding ``day``."""
    return _as_date(day, grid)


def previous_period_end(day: date, grid: str = "monthly") -> date:
    """The end of the period before the one ending at ``day``."""
    if grid == "weekly":
        return day - timedelta(days=7)
    return _month_end(day, -(3 if grid == "quarterly" else 1))


def _next(end: date, grid: str) -> date:
    return end + timedelta(days=7) if grid == "weekly" else _month_end(end, 3 if grid == "quarterly" else 1)


def _month_end(day: date, months: int = 0) -> date:
    """The last day of the month ``months`` after ``day``'s."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _as_date(value: date | str, grid: str) -> date:
    """The end of the period holding ``value`` (a date, 'YYYY-MM-DD', or 'YYYY-MM' for the month's last day)."""
    if grid not in GRIDS:
        raise NotFoundError(f"unknown period grid {grid!r}; valid: {', '.join(GRIDS)}")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text + "-01" if len(text) == 7 else text)
        except ValueError:
            raise SegmentoError(f"{value!r} is not a date (YYYY-MM-DD) or a month (YYYY-MM)") from None
        if len(text) == 7:
            value = _month_end(value)
    if isinstance(value, datetime):
        value = value.date()
    if grid == "weekly":
        return value + timedelta(days=6 - value.weekday())
    if grid == "quarterly":
        return _month_end(value, (3 - value.month % 3) % 3)
    return _month_end(value)
