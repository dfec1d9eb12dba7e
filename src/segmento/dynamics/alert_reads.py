"""Stored alerts as plain SQL (see store/quick.py): the list, latest period then highest value at
stake first, and the totals per period, kind and rule.

``segmento alerts`` reads them without loading Ibis or pandas; the library's
``list_alerts`` (an Ibis table to build on) filters and orders the same way.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, get_args

from segmento.errors import NotFoundError
from segmento.store.quick import Source, rows

ALERTS = "alerts"  # declared in store/registry_stages.py
AlertKind = Literal["negative", "positive", "high_stakes"]
ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)
ORDER = "period DESC, priority DESC, alert_id"


def check_kind(kind: str | None) -> None:
    if kind is not None and kind not in ALERT_KINDS:
        raise NotFoundError(f"unknown alert kind {kind!r}; valid kinds: {', '.join(ALERT_KINDS)}")


def alert_rows(source: Source, period: date | None = None, kind: str | None = None, rule: str | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """The alerts matching the filters, latest period then highest value at stake first, at most ``limit``."""
    where, params = _where(period, kind, rule)
    bound = " LIMIT ?" if limit is not None else ""
    return rows(source, f"SELECT * FROM {ALERTS}{where} ORDER BY {ORDER}{bound}",
                *params, *([limit] if limit is not None else []))


def alert_totals(source: Source, period: date | None = None, kind: str | None = None,
                 rule: str | None = None) -> list[dict[str, Any]]:
    """Alerts and value at stake per period, kind and rule, latest period first."""
    where, params = _where(period, kind, rule)
    return rows(source, f"SELECT period, kind, rule, count(*) AS alerts, sum(priority) AS value_at_stake "
                        f"FROM {ALERTS}{where} GROUP BY period, kind, rule ORDER BY period DESC, kind, rule", *params)


def _where(period: date | None, kind: str | None, rule: str | None) -> tuple[str, list[str]]:
    check_kind(kind)
    tests = {"period = CAST(? AS DATE)": period and period.isoformat(), "kind = ?": kind, "rule = ?": rule}
    kept = {test: value for test, value in tests.items() if value is not None}
    return (" WHERE " + " AND ".join(kept) if kept else ""), list(kept.values())
