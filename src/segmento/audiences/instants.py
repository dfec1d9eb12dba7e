"""What "as of" means for audiences: exactly what it means for features.

A date is the end of that day, a datetime that instant; a window is whole calendar days
ending on D ('30d' = D-29 .. D), as :mod:`segmento.store.asof` and :mod:`segmento.features.asof`
decide for every feature, so ``viewed(within = '30d')`` and ``interests_30d`` count the same days.
"""

from __future__ import annotations

from datetime import date, datetime

from segmento.features.asof import AsOf, Window


def instant(as_of: datetime | date | str | None) -> datetime:
    """The last visible instant: now by default; a date means its last microsecond."""
    if as_of is None:
        return datetime.now()
    return AsOf.of(as_of).last


def window_start(at: datetime, window: str | None) -> datetime | None:
    """First instant inside ``window`` ending at ``at`` (None: no lower bound)."""
    return None if window is None else AsOf.of(at).since(Window.parse(window))
