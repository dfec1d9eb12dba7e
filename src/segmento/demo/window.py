"""The generation window: its months, how busy each one is, and how instants are drawn inside them.

Days are integers (days since 1970-01-01) and instants are int64 microseconds, so whole
months of rows are placed in time with array arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from segmento.errors import SegmentoError

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR

# Shopping and browsing volume by calendar month (Jan..Dec): winter sales, summer sales,
# Black Friday, and the December gift peak.
SEASON = np.array([1.05, 0.80, 0.90, 0.95, 1.00, 1.05, 1.10, 0.80, 0.95, 0.95, 1.20, 1.70])
# Share of lines on promotion for an average customer (Jan..Dec): French winter sales in
# January, summer sales from late June through July, Black Friday in November.
PROMO_INTENSITY = np.array([0.40, 0.12, 0.06, 0.06, 0.07, 0.22, 0.38, 0.10, 0.05, 0.07, 0.28, 0.12])
WEEKDAY_WEIGHT = np.array([0.85, 0.85, 0.95, 0.95, 1.05, 1.55, 0.80])  # Monday..Sunday: Saturday shopping

# When in the day things happen (weights for hours 0..23).
STORE_HOURS = np.array([0] * 9 + [0.6, 0.9, 1.1, 1.0, 0.8, 0.9, 1.0, 1.1, 1.2, 1.1, 0.7] + [0] * 4, dtype=float)
ONLINE_HOURS = np.array(
    [0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.6, 0.8, 0.9, 0.9, 1.0]  # night and morning
    + [1.1, 1.0, 0.9, 0.9, 0.9, 1.0, 1.2, 1.4, 1.6, 1.5, 1.0, 0.5]  # lunch break, evening peak
)


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return int(np.datetime64(day, "D").astype(np.int64))


def weekday(days: np.ndarray) -> np.ndarray:
    """Monday=0 .. Sunday=6 (1970-01-01 was a Thursday)."""
    return (np.asarray(days) + 3) % 7


def _day_weights(days: np.ndarray, calendar_month: int) -> np.ndarray:
    """How busy each day is: Saturdays, and the run-up to Christmas rather than the week after."""
    weights = WEEKDAY_WEIGHT[weekday(days)].copy()
    if calendar_month == 12:
        day_of_month = np.arange(len(days)) + 1
        weights *= np.where(day_of_month <= 24, 1.3, 0.5)
    return weights


@dataclass(frozen=True)
class Month:
    """One month of the window; the last one may stop early, at the window's end."""

    index: int
    start_day: int
    stop_day: int  # exclusive
    full_days: int  # length of the calendar month, even when the window cuts it
    calendar_month: int  # 1..12
    day_cdf: np.ndarray  # cumulative day weights, 0 first, one more entry than days

    @property
    def season(self) -> float:
        return float(SEASON[self.calendar_month - 1])

    @property
    def promo_intensity(self) -> float:
        return float(PROMO_INTENSITY[self.calendar_month - 1])

    @property
    def last_day(self) -> int:
        return self.stop_day - 1

    @property
    def stop_us(self) -> int:
        return self.stop_day * US_PER_DAY

    @property
    def label(self) -> str:
        """'202412': used in campaign identifiers."""
        return str(np.datetime64(self.start_day, "D").astype("datetime64[M]")).replace("-", "")

    def exposure(self, first_day: np.ndarray) -> np.ndarray:
        """Share of the calendar month a customer active from `first_day` can act in (0 if not yet)."""
        open_days = self.stop_day - np.maximum(first_day, self.start_day)
        return np.clip(open_days, 0, None) / self.full_days

    def days(self, rng: np.random.Generator, first_day: np.ndarray) -> np.ndarray:
        """One busy-weighted day per row, in [max(first_day, start), stop)."""
        lower = self.day_cdf[np.clip(first_day - self.start_day, 0, len(self.day_cdf) - 2)]
        upper = self.day_cdf[-1]
        drawn = lower + rng.random(len(lower)) * (upper - lower)
        offset = np.searchsorted(self.day_cdf, drawn, side="right") - 1
        return self.start_day + np.clip(offset, 0, len(self.day_cdf) - 2)

    def instants(self, rng: np.random.Generator, first_day: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """One instant per row, on a busy-weighted day and at an hour drawn from `hours`."""
        return self.days(rng, first_day) * US_PER_DAY + time_of_day(rng, len(first_day), hours)


def time_of_day(rng: np.random.Generator, n: int, hours: np.ndarray) -> np.ndarray:
    """Microseconds after midnight, to the second, following an hourly profile."""
    hour = rng.choice(24, size=n, p=hours / hours.sum())
    return hour * US_PER_HOUR + rng.integers(0, 3600, size=n) * US_PER_SECOND


@dataclass(frozen=True)
class Window:
    """The months generated, oldest first; activity lies in [start_day, stop_day)."""

    months: tuple[Month, ...]

    @property
    def start_day(self) -> int:
        return self.months[0].start_day

    @property
    def stop_day(self) -> int:
        return self.months[-1].stop_day

    @property
    def stop_us(self) -> int:
        return self.stop_day * US_PER_DAY


def build_window(end: date, months: int) -> Window:
    """The `months` calendar months ending with the one holding `end`, cut at the end of `end`."""
    if months < 1:
        raise SegmentoError("months must be at least 1")
    last = np.datetime64(end, "M")
    starts = last - np.arange(months - 1, -1, -1)
    built = []
    for index, start in enumerate(starts):
        start_day = int(start.astype("datetime64[D]").astype(np.int64))
        full_stop = int((start + 1).astype("datetime64[D]").astype(np.int64))
        stop_day = min(full_stop, day_number(end) + 1)
        calendar_month = int(start.astype(np.int64) % 12) + 1
        weights = _day_weights(np.arange(start_day, stop_day), calendar_month)
        cdf = np.concatenate([[0.0], np.cumsum(weights)])
        built.append(Month(index, start_day, stop_day, full_stop - start_day, calendar_month, cdf))
    return Window(tuple(built))
