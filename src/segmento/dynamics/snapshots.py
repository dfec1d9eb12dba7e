"""Snapshots: membership of every segmentation at each period end, kept as history.

A period is computed from raw history as of its end (point in time) with the frozen
model version, so a backfilled month equals the snapshot that would have been taken
then. Re-running a period replaces it atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import ibis
from ibis.backends import BaseBackend

from segmento.dynamics.alerts import OnNewAlerts, raise_alerts
from segmento.dynamics.periods import period_ends, previous_period_end
from segmento.dynamics.store import SNAPSHOTS, snapshots, taken_periods
from segmento.features import compute_features
from segmento.segmentations import assign, load_model
from segmento.segmentations.registry import versions
import sqlglot.expressions as sge

from segmento.store.backend import delete_where, equals, transaction

if TYPE_CHECKING:
    from segmento.config import Project

VALUE_FEATURE = "spend_12m"


@dataclass
class SnapshotReport:
    """What one period's snapshot stored, per segmentation."""

    period: date
    customers: dict[str, int] = field(default_factory=dict)
    alerts: int = 0

    def __str__(self) -> str:
        sizes = ", ".join(f"{name} {count:,}" for name, count in self.customers.items())
        return f"{self.period}: {sizes}; {self.alerts:,} new alerts"


def segmentation_names(con: BaseBackend, project: Project, names: list[str] | None = None) -> list[str]:
    """The segmentations to snapshot: the ones asked for, else every declared one."""
    names = names or [s.name for s in project.segmentations]
    if not names:
        raise ValueError("no segmentation to snapshot: declare one under `segmentations:` in segmento.yaml")
    unfitted = [name for name in names if not versions(con, name)]
    if unfitted:
        raise ValueError(
            f"segmentation {', '.join(map(repr, unfitted))} has no fitted version; "
            f"run `segmento fit {unfitted[0]} --as-of YYYY-MM-DD` first"
        )
    return names


def take_snapshot(
    con: BaseBackend,
    project: Project,
    period: date,
    names: list[str] | None = None,
    alerts: bool = True,
    on_new_alerts: OnNewAlerts | None = None,
) -> SnapshotReport:
    """Snapshot every segmentation as of ``period`` and raise the trajectory alerts of the move into it."""
    names = segmentation_names(con, project, names)
    models = [load_model(con, name) for name in names]
    wanted = sorted({VALUE_FEATURE, *(f for model in models for f in model.features)})
    features = compute_features(con, period, project=project, names=wanted)
    staging = f"_snapshot_features_{period:%Y%m%d}"
    features = con.create_table(staging, features, temp=True, overwrite=True)  # computed once, read per model
    report = SnapshotReport(period)
    try:
        with transaction(con):
            table = snapshots(con)
            for model in models:
                members = assign(con, model, features)
                values = features.select("customer_id", value=features[VALUE_FEATURE].fill_null(0.0))
                rows = members.join(values, "customer_id").mutate(period=ibis.literal(period, "date"))
                _replace(con, model.name, period, rows.select(*table.columns))
                report.customers[model.name] = int(
                    table.filter((table.segmentation == model.name) & (table.period == period)).count().execute()
                )
    finally:
        con.drop_table(staging, force=True)
    if alerts:
        report.alerts = _alerts_into(con, project, period, names, on_new_alerts)
    return report


def _replace(con: BaseBackend, name: str, period: date, rows: ibis.Table) -> None:
    """Delete the period's rows of one segmentation and insert the new ones (caller holds the transaction)."""
    delete_where(con, SNAPSHOTS, sge.and_(equals("segmentation", name), equals("period", period)))
    con.insert(SNAPSHOTS, rows)


def _alerts_into(
    con: BaseBackend, project: Project, period: date, names: list[str], on_new: OnNewAlerts | None
) -> int:
    """Alerts for the move from the previous period into ``period``, when that period was taken."""
    rules = [rule for rule in project.dynamics.rules if rule.segmentation in names]
    before = previous_period_end(period, project.dynamics.grid)
    ready = [rule for rule in rules if before in taken_periods(con, rule.segmentation)]
    return raise_alerts(con, ready, before, period, on_new, project) if ready else 0


def backfill(
    con: BaseBackend,
    project: Project,
    start: date | str,
    end: date | str,
    names: list[str] | None = None,
    on_period: Callable[[SnapshotReport], None] | None = None,
    on_new_alerts: OnNewAlerts | None = None,
) -> list[SnapshotReport]:
    """Rebuild every period from ``start`` to ``end`` from raw history, oldest first."""
    reports = []
    for period in period_ends(start, end, project.dynamics.grid):
        report = take_snapshot(con, project, period, names, on_new_alerts=on_new_alerts)
        reports.append(report)
        if on_period:
            on_period(report)
    return reports
