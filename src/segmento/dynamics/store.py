"""The snapshot table: who was in which segment at each period end.

Stored narrow (customer, segment, value per period); the model version of each period and
the label and rank of each segment are stored once and joined back here, so every reader
(CLI, API, report, dashboard, alerts, campaigns) sees the same full rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import ibis
from ibis.backends import BaseBackend

from segmento.errors import NotFoundError, NotReadyError
from segmento.store.registry import SEGMENT_SNAPSHOTS, SNAPSHOT_PERIODS, SNAPSHOT_SEGMENTS
from segmento.store.tables import table

SNAPSHOTS = SEGMENT_SNAPSHOTS.name
COLUMNS = ("period", "segmentation", "version", "customer_id", "segment_id", "segment_label", "segment_rank", "value")
NEW, EXIT = "(new)", "(exit)"
VALUE_FEATURE = "spend_12m"  # the snapshot's value column


def snapshots(con: BaseBackend) -> ibis.Table:
    """The snapshot rows with the period's model version and the segment's label and rank joined back."""
    return labelled(con, table(con, SNAPSHOTS))


def labelled(con: BaseBackend, rows: ibis.Table) -> ibis.Table:
    """Stored snapshot rows with the period's model version and the segment's label and rank joined
    back; other columns of ``rows`` are kept. Label a selection after making it: joining the labels
    to every period of history first costs several times the selection."""
    periods = periods_table(con).select("segmentation", "period", "version")
    labelled = rows.left_join(periods, ["segmentation", "period"])
    labelled = labelled.select(*rows.columns, "version")
    segments = table(con, SNAPSHOT_SEGMENTS.name)
    labelled = labelled.left_join(segments, ["segmentation", "version", "segment_id"])
    return labelled.select(*COLUMNS, *(c for c in rows.columns if c not in COLUMNS))


def visible_from(period: ibis.DateValue) -> ibis.TimestampValue:
    """A snapshot at period end D summarises the whole of D: visible from D + 1 day 00:00."""
    return period.cast("timestamp") + ibis.interval(days=1)


def stored(con: BaseBackend) -> ibis.Table:
    """The stored rows only (period, segmentation, customer, segment, value): for what needs no label."""
    return table(con, SNAPSHOTS)


def periods_table(con: BaseBackend) -> ibis.Table:
    """One row per segmentation and period taken, written with its rows: what lists the taken periods
    (reading the memberships for that would cost more with every period of history)."""
    return table(con, SNAPSHOT_PERIODS.name)


def period_of(con: BaseBackend, segmentation: str, period: date) -> ibis.Table:
    """One segmentation's memberships at one period end (error if that period was never taken)."""
    table = snapshots(con)
    rows = table.filter((table.segmentation == segmentation) & (table.period == period))
    return rows


def taken_periods(con: BaseBackend, segmentation: str) -> list[date]:
    """Period ends with a snapshot of this segmentation, oldest first."""
    table = periods_table(con)
    periods = table.filter(table.segmentation == segmentation).select("period").distinct().order_by("period")
    return [row["period"] for row in periods.to_pyarrow().to_pylist()]


def require_periods(con: BaseBackend, segmentation: str, *periods: date, taken: list[date] | None = None) -> None:
    """Clear error naming the missing periods and the ones that exist (``taken``: already read)."""
    taken = taken_periods(con, segmentation) if taken is None else taken
    missing = [p for p in periods if p not in taken]
    if missing:
        have = ", ".join(map(str, taken)) or "none"
        raise NotReadyError(
            f"no snapshot of {segmentation!r} at {', '.join(map(str, missing))}; taken periods: {have}. "
            "Run `segmento snapshot` or `segmento backfill` first."
        )


def require_segmentation(con: BaseBackend, segmentation: str, declared: Iterable[str] = ()) -> None:
    """A name that is declared, fitted or snapshotted; else an error listing those that are."""
    if segmentation in declared:
        return
    from segmento.segmentations.stored import fitted

    table = periods_table(con)
    taken = table.select("segmentation").distinct().to_pyarrow().column(0).to_pylist()
    known = sorted({*declared, *fitted(con), *taken})
    if segmentation not in known:
        raise NotFoundError(f"unknown segmentation {segmentation!r}; known: {', '.join(known) or 'none'}")


def require_snapshots(con: BaseBackend, segmentation: str, at_least: int = 1) -> list[date]:
    """The taken periods of ``segmentation`` when there are at least ``at_least`` of them."""
    taken = taken_periods(con, segmentation)
    if len(taken) < at_least:
        raise NotReadyError(
            f"{segmentation!r} needs {'a snapshot' if at_least == 1 else f'{at_least} snapshots'} at least; "
            f"taken periods: {', '.join(map(str, taken)) or 'none'}. Run `segmento snapshot` or `segmento backfill` first."
        )
    return taken
