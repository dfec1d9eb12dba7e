"""Look-back windows ending on "as of D" (what D itself means is decided in ``store/asof.py``).

Windows count whole calendar days ending on D's date: '90d' is the 90 days D-89 .. D,
'2w' the 14 days ending on D, '12m' the days after D minus 12 months (clamped to month
ends) up to D. Every bound is a Python constant, so the engines only see literals.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir

from segmento.errors import SegmentoError
from segmento.features.settings import WINDOW_PATTERN
from segmento.store import asof

LIFETIME = "lifetime"


@dataclass(frozen=True)
class Window:
    """A look-back window ending on D: '30d', '6w', '12m', '2y' or 'lifetime'."""

    label: str

    @classmethod
    def parse(cls, text: str) -> Window:
        text = str(text).strip()
        if not re.fullmatch(WINDOW_PATTERN, text):
            raise SegmentoError(
                f"bad window {text!r}: write a number then d, w, m or y (e.g. '30d', '12m'), or 'lifetime'"
            )
        return cls(text)

    @property
    def is_lifetime(self) -> bool:
        return self.label == LIFETIME

    def first_day(self, day: date) -> date | None:
        """First calendar day inside the window that ends on ``day`` (None: unbounded)."""
        if self.is_lifetime:
            return None
        count, unit = int(self.label[:-1]), self.label[-1]
        if unit in "dw":
            return day - timedelta(days=count * (7 if unit == "w" else 1) - 1)
        return _minus_months(day, count * (12 if unit == "y" else 1)) + timedelta(days=1)


def _minus_months(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


class AsOf(asof.AsOf):
    """A point in time (see ``store/asof.py``) and the windows that end on it."""

    def since(self, window: Window) -> datetime | None:
        """Midnight of the window's first day (None for lifetime)."""
        first = window.first_day(self.day)
        return None if first is None else datetime.combine(first, time())

    def within(self, stamp: ir.TimestampValue, window: Window) -> ir.BooleanValue | None:
        """``stamp`` falls inside ``window`` (None for lifetime: no condition to add)."""
        start = self.since(window)
        return None if start is None else stamp >= ibis.timestamp(start)


def both(*conditions: ir.BooleanValue | None) -> ir.BooleanValue | None:
    """AND of the conditions that exist (None means 'no condition')."""
    present = [c for c in conditions if c is not None]
    if not present:
        return None
    result = present[0]
    for condition in present[1:]:
        result = result & condition
    return result
