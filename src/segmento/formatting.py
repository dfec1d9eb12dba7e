"""Figures written for people, the same way on the dashboard, in the report and on the CLI:
thousands separators, percentages, money with its currency, dates, feature values by unit.

Plain Python, no imports beyond the standard library: the CLI loads it for every command.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

MISSING = "—"
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "CAD": "CA$", "AUD": "A$"}
DEFAULT_CURRENCY = "EUR"


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def count(value: Any) -> str:
    """12,345 (whole numbers with thousands separators)."""
    return MISSING if _absent(value) else f"{round(float(value)):,}"


def number(value: Any, digits: int = 1) -> str:
    """1,234.5; trailing zeros kept so that columns line up."""
    return MISSING if _absent(value) else f"{float(value):,.{digits}f}"


def percent(share: Any, digits: int = 1) -> str:
    """A share (0..1) as 12.3%; small non-zero shares keep two significant digits (0.042%)."""
    if _absent(share):
        return MISSING
    value = 100 * float(share)
    if value != 0 and abs(value) < 10 ** -digits * 5:
        return f"{value:.2g}%"
    return f"{value:.{digits}f}%"


def points(delta: Any, digits: int = 1) -> str:
    """A change of share in percentage points, signed: +1.2 pt, −0.4 pt."""
    if _absent(delta):
        return MISSING
    value = round(100 * float(delta), digits)
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{abs(value):.{digits}f} pt"


def money(value: Any, currency: str | None = DEFAULT_CURRENCY, digits: int = 0) -> str:
    """€27,452 (or 1,234 SEK for a currency without a symbol here); negative as −€12."""
    if _absent(value):
        return MISSING
    code = (currency or DEFAULT_CURRENCY).upper()
    amount = f"{abs(float(value)):,.{digits}f}"
    sign = "−" if float(value) < 0 and float(amount.replace(",", "")) != 0 else ""
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {code}"


def compact_money(value: Any, currency: str | None = DEFAULT_CURRENCY) -> str:
    """€1.2M, €45k, €830: for chart cells where space is short."""
    if _absent(value):
        return MISSING
    size = abs(float(value))
    for limit, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            text = money(float(value) / limit, currency, 1 if size < 10 * limit else 0)
            return text.replace(" ", f"{suffix} ", 1) if " " in text else text + suffix
    return money(value, currency)


def day(value: Any) -> str:
    """2024-12-31 (ISO dates: unambiguous in every locale)."""
    if _absent(value):
        return MISSING
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def age(seconds: Any) -> str:
    """How long ago, in the largest sensible unit: 3 min, 5 h, 12 days."""
    if _absent(seconds):
        return MISSING
    s = max(float(seconds), 0.0)
    for size, unit in ((86400, "day"), (3600, "h"), (60, "min")):
        if s >= size:
            n = int(s // size)
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''}"
    return f"{int(s)} s"


def listing(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values) or MISSING


def value(value: Any, unit: str = "", currency: str | None = DEFAULT_CURRENCY) -> str:
    """A feature's value by its catalog unit: money, share, days, counts, yes/no, lists."""
    if _absent(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple, set)):
        return listing(value)
    if isinstance(value, (date, datetime)):
        return day(value)
    if isinstance(value, (int, float)):
        if unit == "currency":
            return money(value, currency, 0 if abs(value) >= 100 else 2)
        if unit == "share":
            return percent(value)
        if unit in ("days", "years"):
            return f"{count(value)} {unit[:-1] if round(float(value)) == 1 else unit}"
        if isinstance(value, int) or float(value).is_integer():
            return count(value)
        return number(value, 2 if abs(value) < 10 else 1)
    return str(value)
