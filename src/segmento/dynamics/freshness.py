"""Is a period's snapshot worth reading? Data freshness and incomplete feature windows.

A 12-month spend as of a date less than 12 months after the first order in the base
only sees part of its window: it can only rise while the history fills in, and every
"occasional -> good" move of those months is an artefact. Such a period is flagged
(stored with the snapshot, shown wherever snapshots are) and raises no alert.
A snapshot past the last loaded order or event would read a month with no data: it is
refused unless forced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.errors import NotReadyError
from segmento.features.asof import Window
from segmento.store.engines import engine_of
from segmento.store.registry import SNAPSHOT_PERIODS
from segmento.store.tables import table

PERIOD_CHECKS = SNAPSHOT_PERIODS.name
PERIOD_SCHEMA = SNAPSHOT_PERIODS.schema
_WINDOWED = re.compile(r"_([1-9][0-9]*[dwmy])$")


@dataclass(frozen=True)
class DataExtent:
    """First order day and last day with an order or an event (None when the base is empty)."""

    first_order: date | None
    last_data: date | None


@dataclass(frozen=True)
class PeriodCheck:
    """Whether every window of a segmentation's features fits in the loaded history at a period."""

    segmentation: str
    period: date
    complete: bool
    needs_from: date | None
    data_from: date | None
    data_to: date | None

    @property
    def note(self) -> str:
        if self.complete:
            return ""
        return (f"incomplete windows: its features read from {self.needs_from}, "
                f"the orders start on {self.data_from}")


def data_extent(con: BaseBackend) -> DataExtent:
    """The loaded history's span, read in the engine (two aggregates)."""
    tables = set(con.list_tables())
    first = last = None
    if "orders" in tables:
        orders = con.table("orders")
        row = orders.aggregate(first=orders.ordered_at.min(), last=orders.ordered_at.max()).to_pyarrow().to_pylist()[0]
        first, last = _day(row["first"]), _day(row["last"])
    if "events" in tables:
        events = con.table("events")
        latest = _day(events.occurred_at.max().execute())
        last = max(filter(None, (last, latest)), default=None)
    return DataExtent(first, last)


def _day(value: object) -> date | None:
    if value is None or value != value:  # None or NaT
        return None
    return value.date() if isinstance(value, datetime) else value  # type: ignore[return-value]


def needs_from(period: date, features: list[str]) -> date | None:
    """First day the longest window among ``features`` reads as of ``period`` (None: none windowed)."""
    firsts = [Window.parse(m[1]).first_day(period) for f in features if (m := _WINDOWED.search(f))]
    return min(firsts, default=None)


def check_period(segmentation: str, period: date, features: list[str], extent: DataExtent) -> PeriodCheck:
    needed = needs_from(period, features)
    complete = needed is None or extent.first_order is None or needed >= extent.first_order
    return PeriodCheck(segmentation, period, complete, needed, extent.first_order, extent.last_data)


def require_fresh(period: date, extent: DataExtent, force: bool) -> str | None:
    """Refuse a period that ends after the last loaded data (unless forced); the warning otherwise."""
    if extent.last_data is None or period <= extent.last_data:
        return None
    warning = f"the period ends on {period}, after the last loaded order or event ({extent.last_data})"
    if not force:
        raise NotReadyError(f"{warning}: load newer data first, or force it (--force on the command line)")
    return warning


def record_checks(con: BaseBackend, checks: list[PeriodCheck], versions: dict[str, int]) -> None:
    """Store the checks of a snapshot with the model version of each segmentation; a re-run replaces them."""
    period_checks(con)
    rows = [{"period": c.period, "segmentation": c.segmentation, "complete": c.complete, "needs_from": c.needs_from,
             "data_from": c.data_from, "data_to": c.data_to, "note": c.note, "version": versions[c.segmentation]}
            for c in checks]
    engine_of(con).upsert(PERIOD_CHECKS, pa.Table.from_pylist(rows, schema=PERIOD_SCHEMA.to_pyarrow()),
                          ["segmentation", "period"])


def period_checks(con: BaseBackend, segmentation: str | None = None) -> ibis.Table:
    """The stored checks, one row per segmentation and period."""
    checks = table(con, PERIOD_CHECKS)
    return checks if segmentation is None else checks.filter(checks.segmentation == segmentation)


def incomplete_periods(con: BaseBackend, segmentation: str) -> dict[date, str]:
    """Periods of ``segmentation`` flagged incomplete, with their note (periods never checked count as complete)."""
    table = period_checks(con, segmentation)
    rows = table.filter(~table.complete).select("period", "note").to_pyarrow().to_pylist()
    return {row["period"]: row["note"] for row in rows}
