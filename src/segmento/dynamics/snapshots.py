"""Snapshots: membership of every segmentation at each period end, kept as history.

A period is computed from raw history as of its end (point in time) with the frozen
model version, so a backfilled month equals the snapshot that would have been taken
then. Re-running a period replaces it atomically. Each period is checked against the
loaded history (freshness.py): one past the last data is refused unless forced, one
whose feature windows reach before the first order is flagged and raises no alert.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.dynamics.alerts import OnNewAlerts, raise_alerts
from segmento.dynamics.freshness import DataExtent, check_period, data_extent, record_checks, require_fresh
from segmento.dynamics.periods import period_ends, previous_period_end
from segmento.dynamics.rules import read_fields
from segmento.dynamics.store import SNAPSHOTS, VALUE_FEATURE, require_segmentation, stored, taken_periods
from segmento.errors import NotReadyError
from segmento.features import AsOf, compute_features
from segmento.features.providers import unready
from segmento.features.series import FeatureSeries
from segmento.segmentations.assign import assign
from segmento.segmentations.registry import fitted, latest_models
from segmento.store.engines import engine_of
from segmento.store.registry import SNAPSHOT_SEGMENTS

if TYPE_CHECKING:
    from segmento.config import Project
    from segmento.dynamics.settings import TrajectoryRule
    from segmento.segmentations.registry import FrozenModel


@dataclass
class SnapshotReport:
    """What one period's snapshot stored, per segmentation."""

    period: date
    customers: dict[str, int] = field(default_factory=dict)
    alerts: int = 0
    incomplete: dict[str, str] = field(default_factory=dict)  # segmentation -> why its windows are incomplete
    warning: str | None = None  # e.g. a forced snapshot past the last loaded data

    def __str__(self) -> str:
        sizes = ", ".join(f"{name} {count:,}" for name, count in self.customers.items())
        text = f"{self.period}: {sizes}; {self.alerts:,} new alerts"
        for name, note in self.incomplete.items():
            text += f"\n  {name}: {note}; no alert raised"
        return text + (f"\n  warning: {self.warning}" if self.warning else "")


def segmentation_names(con: BaseBackend, project: Project, names: list[str] | None = None) -> list[str]:
    """The segmentations to snapshot: the ones asked for, else every declared one."""
    fitted_names = set(fitted(con))
    declared = [s.name for s in project.segmentations]
    names = names or declared
    if not names:
        raise NotReadyError(f"{project.where('segmentations')}: no segmentation to snapshot; declare one under `segmentations:`")
    for name in names:
        require_segmentation(con, name, declared)
    unfitted = [name for name in names if name not in fitted_names]
    if unfitted:
        raise NotReadyError(
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
    force: bool = False,
    series: FeatureSeries | None = None,
    extent: DataExtent | None = None,
) -> SnapshotReport:
    """Snapshot every segmentation as of ``period`` and raise the trajectory alerts of the move into it.

    Refused when the period ends after the last loaded order or event, unless ``force``.
    ``series`` (a backfill's) computes the features from those of the period before.
    ``extent``: the loaded history's span when the caller has read it (a backfill, once for all periods).
    """
    with engine_of(con).batch_step():  # what several parts read (the traits' summary) computed once
        return _take(con, project, period, names, alerts, on_new_alerts, force, series, extent)


def _take(
    con: BaseBackend, project: Project, period: date, names: list[str] | None, alerts: bool,
    on_new_alerts: OnNewAlerts | None, force: bool, series: FeatureSeries | None, extent: DataExtent | None,
) -> SnapshotReport:
    names = segmentation_names(con, project, names)
    extent = extent or data_extent(con)
    report = SnapshotReport(period, warning=require_fresh(period, extent, force))
    models, rules = _models_and_rules(con, project, names, alerts)
    later = unready(con, AsOf.of(period)) if rules else set()  # traits not fitted yet: such rules wait (alerts.py)
    wanted = sorted(_read_now(models, rules, later))
    features = series.at(period, wanted) if series else compute_features(con, period, project=project, names=wanted)
    checks = [check_period(model.name, period, model.features, extent) for model in models]
    report.incomplete = {check.segmentation: check.note for check in checks if not check.complete}
    engine = engine_of(con)
    # computed once (a series' table already is), read per model and by the alerts
    with nullcontext(features) if series else engine.staged(features) as staged:
        table = stored(con)
        values = staged.select("customer_id", value=staged[VALUE_FEATURE].fill_null(0.0))
        parts = [
            assign(con, model, staged).join(values, "customer_id")
            .mutate(period=ibis.literal(period, "date")).select(*table.columns).cast(table.schema())
            for model in models
        ]
        rows = ibis.union(*parts) if len(parts) > 1 else parts[0]
        # every segmentation of the period in one write, with its version and labels: all of it replaced, or none
        with engine.transaction():
            engine.replace_partitions(SNAPSHOTS, [{"segmentation": m.name, "period": period} for m in models], rows)
            engine.upsert(SNAPSHOT_SEGMENTS.name, _segments(models), SNAPSHOT_SEGMENTS.key)
            record_checks(con, checks, {model.name: model.version for model in models})
        taken = table.filter((table.period == period) & table.segmentation.isin(names))
        sizes = taken.group_by("segmentation").agg(n=taken.count()).to_pyarrow().to_pylist()
        counted = {row["segmentation"]: row["n"] for row in sizes}
        report.customers = {name: int(counted.get(name, 0)) for name in names}
        if rules:
            report.alerts = _alerts_into(con, project, period, rules, staged, on_new_alerts, series)
    return report


def _models_and_rules(con: BaseBackend, project: Project, names: list[str],
                      alerts: bool) -> tuple[list[FrozenModel], list[TrajectoryRule]]:
    """The latest version of each segmentation, and the trajectory rules over them (none without alerts)."""
    latest = latest_models(con, names)
    rules = [rule for rule in project.dynamics.rules if rule.segmentation in names] if alerts else []
    return [latest[name] for name in names], rules


def features_read(con: BaseBackend, project: Project, names: list[str] | None = None) -> set[str]:
    """The features a snapshot of ``names`` (default all) and its alerts read as of its period's end,
    whether they can be computed then or not."""
    return _read_now(*_models_and_rules(con, project, segmentation_names(con, project, names), True))


def _read_now(models: list[FrozenModel], rules: list[TrajectoryRule], later: Collection[str] = ()) -> set[str]:
    """The models' features, the snapshot's value, and what the rules read as of the period (but ``later``)."""
    return {VALUE_FEATURE, *(f for model in models for f in model.features),
            *(f for rule in rules for f in read_fields(rule) if f not in later)}


def _segments(models: list[FrozenModel]) -> pa.Table:
    """Label and rank of every segment of the models' versions, stored once per version (not per row)."""
    rows = [{"segmentation": m.name, "version": m.version, "segment_id": s.id, "segment_label": s.label,
             "segment_rank": s.rank} for m in models for s in m.segments]
    return pa.Table.from_pylist(rows, SNAPSHOT_SEGMENTS.schema.to_pyarrow())


def _alerts_into(
    con: BaseBackend, project: Project, period: date, rules: list[TrajectoryRule], features: ibis.Table,
    on_new: OnNewAlerts | None, series: FeatureSeries | None,
) -> int:
    """Alerts for the move from the previous period into ``period``, when that period was taken."""
    before = previous_period_end(period, project.dynamics.grid)
    taken = {name: before in taken_periods(con, name) for name in {rule.segmentation for rule in rules}}
    ready = [rule for rule in rules if taken[rule.segmentation]]
    then = series.table_at(before) if series else None
    return raise_alerts(con, ready, before, period, on_new, features, project, then) if ready else 0


def backfill(
    con: BaseBackend,
    project: Project,
    start: date | str,
    end: date | str,
    names: list[str] | None = None,
    on_period: Callable[[SnapshotReport], None] | None = None,
    on_new_alerts: OnNewAlerts | None = None,
    force: bool = False,
) -> list[SnapshotReport]:
    """Rebuild every period from ``start`` to ``end`` from raw history, oldest first.

    History is not news: alerts are stored but reach ``on_new_alerts`` (the journeys'
    queue) only when the caller passes it. The features of each period are brought
    forward from the period before (features/series.py): each month costs the same.
    """
    periods = period_ends(start, end, project.dynamics.grid)
    extent = data_extent(con)  # the periods' snapshots load nothing
    require_fresh(periods[-1], extent, force)  # refuse before rebuilding anything
    reports = []
    with engine_of(con).schemas_kept(), FeatureSeries(con, project) as series:
        for period in periods:
            report = take_snapshot(con, project, period, names, on_new_alerts=on_new_alerts, force=force,
                                   series=series, extent=extent)
            reports.append(report)
            if on_period:
                on_period(report)
    return reports
