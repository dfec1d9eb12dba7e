"""What "as of D" means, decided in one place for every stage.

A date D means the END of that day: every row stamped at or before
D 23:59:59.999999 is visible, nothing after. A datetime means that exact instant
(inclusive). The bound is a Python constant, so the engines only ever see literals:
portable, and prunable by their optimisers. Look-back windows (features) build on this
in ``features/asof.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import ibis
import ibis.expr.types as ir

from segmento.errors import SegmentoError

ONE_TICK = timedelta(microseconds=1)  # the resolution of knowledge-base timestamps
T = TypeVar("T", bound="AsOf")


@dataclass(frozen=True)
class AsOf:
    """A point in time: the calendar day D and the first instant that is NOT visible."""

    day: date
    end: datetime

    @classmethod
    def of(cls: type[T], value: date | datetime | str | AsOf) -> T:
        """Accept a date (end of that day), a naive datetime (that instant) or an ISO string."""
        if isinstance(value, AsOf):
            return value if isinstance(value, cls) else cls(value.day, value.end)
        if isinstance(value, str):
            value = _parse(value)
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                raise SegmentoError("as_of must be a naive datetime (knowledge-base timestamps have no time zone)")
            return cls(value.date(), value + ONE_TICK)
        if isinstance(value, date):
            return cls(value, datetime.combine(value + timedelta(days=1), time()))
        raise TypeError(f"as_of must be a date or datetime, not {type(value).__name__}")

    @property
    def last(self) -> datetime:
        """The last visible instant (a date's last microsecond; a datetime itself)."""
        return self.end - ONE_TICK

    def visible(self, stamp: ir.TimestampValue) -> ir.BooleanValue:
        """Rows at or before the as-of instant."""
        return stamp < ibis.timestamp(self.end)

    def days_since(self, day: ir.DateValue) -> ir.IntegerValue:
        """Whole days from ``day`` to D (0 on D itself)."""
        return ibis.date(self.day).delta(day, unit="day")


def _parse(text: str) -> date | datetime:
    text = text.strip()
    try:
        return datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        raise SegmentoError(f"{text!r} is not a date (YYYY-MM-DD) or an instant (YYYY-MM-DDTHH:MM:SS)") from None
