"""Workspace: a knowledge-base connection plus a project config. The library's front door.
It stays thin: each method hands over to the module that owns the stage."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
from ibis.backends import BaseBackend

from segmento import segmentations  # light: its models load on first use
from segmento.config import EngineSection, Project, load_project
from segmento.campaigns import history as _campaign_history  # noqa: F401  (registers campaign history features)
from segmento.dynamics.reads import DynamicsReads
from segmento.predictive import scoring as _predictive_scoring  # noqa: F401  (registers the traits as features)
from segmento.store import gdpr, pseudonyms
from segmento.store.backend import open_backend
from segmento.store.engines import engine_of, home
from segmento.store.compact import CompactReport
from segmento.store.tables import ensure_tables
from segmento.store.consents import consents_in_force
from segmento.store.engines.spark import connect_spark
from segmento.store.ingest import IngestionReport, Source, ingest
from segmento.store.quarantine import Resolved
from segmento.store.resolve import resolve_quarantine
from segmento.store.registry import ERASED
from segmento.store.suppression import Suppression

if TYPE_CHECKING:  # the stages are imported where used, so opening a workspace loads only what a verb needs
    from segmento.activation.deliver import DeliveryReport, Until
    from segmento.activation.exports import ExportReport
    from segmento.audiences import Audiences, Change, Guidance, RefreshReport
    from segmento.dynamics.snapshots import SnapshotReport


class Workspace(DynamicsReads):
    """An open knowledge base and the project that describes it (dynamics reads: DynamicsReads)."""

    def __init__(self, con: BaseBackend, project: Project | None = None, actor: str = "library") -> None:
        self.con = con
        self.project = project or Project()
        self.actor = actor  # who reads and changes data, for the audit log
        engine_of(con).check()
        ensure_tables(con)

    def table(self, name: str) -> ibis.Table:
        """A declared table as an Ibis expression (from the operational store for operational state kept apart)."""
        return home(self.con, name).table(name)

    def ingest(self, table: str, source: Source, **options: Any) -> IngestionReport:
        """Load a CSV/Parquet file or a pandas/Polars/Arrow frame into ``table``.

        ``source`` may also be a directory or a glob of files, plain or compressed.
        Options: those of ``segmento.store.options.IngestOptions`` (``columns`` maps our
        name -> the file's name, ``null_tokens``, ``constants``, ``values``, ``id_from``,
        ``currency``...), and ``progress``.
        """
        erased = self.con.table(ERASED.name).count().execute()
        suppression = Suppression.held(self.con, self.pseudonyms) if erased else None
        report = ingest(self.con, table, source, suppression=suppression, **options)
        if "audiences" in self.__dict__ and self.audiences.realtime is not None:  # say whose rows changed
            customers = self._customers_in(table, source, options)
            if customers is not None:
                self.audiences.ingested(table, customers)
        return report

    def _customers_in(self, table: str, source: Source, options: dict[str, Any]) -> list[str] | None:
        """The customers a frame's rows belong to (None: a file, or columns mapped: not known here)."""
        if isinstance(source, (str, Path)) or set(options) - {"progress", "outcomes"}:
            return None
        key = "order_id" if table == "order_lines" else "customer_id"
        try:
            values = source[key]
        except (KeyError, TypeError):
            return None
        ids = values.to_pylist() if hasattr(values, "to_pylist") else list(values)
        if table != "order_lines":
            return ids
        orders = self.con.table("orders")
        return orders.filter(orders.order_id.isin(ids)).customer_id.to_pyarrow().to_pylist()

    def resolve_quarantine(self, table: str | None = None) -> list[Resolved]:
        """Re-check rows held for a row of another table; load and clear those that now pass."""
        return resolve_quarantine(self.con, table, actor=self.actor)

    def features(self, as_of: date | datetime, names: list[str] | None = None) -> ibis.Table:
        """Features as of ``as_of``, one row per customer (a date means the end of that day)."""
        from segmento.features import compute_features

        return compute_features(self.con, as_of, self.project, names)

    # ---- audiences ------------------------------------------------------------------

    @cached_property
    def audiences(self) -> Audiences:
        """Rule-based audiences: define, list, evaluate, history, guidance (kept for real-time state)."""
        from segmento.audiences import Audiences

        return Audiences(self.con, self.project)

    def audience_members(self, name: str, as_of: date | datetime | str | None = None) -> ibis.Table:
        """customer_id of the members of ``name`` as of ``as_of`` (default now), evaluated in the engine."""
        return self.audiences.members(name, as_of)

    def refresh_audiences(self, as_of: date | datetime | str | None = None) -> RefreshReport:
        """Re-evaluate every audience as of ``as_of`` (default now) and record who entered and left.

        Routed changes are queued for delivery right after (and again by any ``deliver``
        catch-up, by the same idempotency key, should this process stop in between).
        """
        from segmento.activation.routing import enqueue_audience_changes

        report = self.audiences.refresh(as_of)
        if any(route.audiences is not None for route in self.project.routes):
            enqueue_audience_changes(self.con, self.project)
        return report

    def push_event(self, event: Mapping[str, Any]) -> list[Change]:
        """Record one event; that customer's audience memberships are updated at once (returns the changes)."""
        return self.audiences.push_event(event)

    def audience_guidance(self, as_of: date | datetime | str | None = None) -> Guidance:
        """Sizes, overlaps and granularity warnings of every audience as of ``as_of``."""
        return self.audiences.guidance(as_of)

    # ---- GDPR -----------------------------------------------------------------------

    @cached_property
    def pseudonyms(self) -> pseudonyms.Pseudonyms:
        """The keyed pseudonyms of this base (secret from SEGMENTO_SECRET or the key file)."""
        return pseudonyms.load(self.con, self.key_file)

    key_file = property(lambda self: pseudonyms.default_key_file(self.con, self.project.gdpr.key_file,
                                                                 self.project.database))

    def pseudonym(self, customer_id: str) -> str:  # how the audit log and suppression list name her
        return f"customer:{self.pseudonyms.of(customer_id)}"

    def forget(self, customer_id: str, compact: bool | None = None) -> gdpr.Erasure:
        """Right to erasure: rows, drop files, real-time state, then (``compact``) the file's bytes."""
        from segmento.activation.destinations import erase_from_drops
        if "audiences" in self.__dict__:
            self.audiences.drop_realtime()
        compact = self.project.gdpr.compact == "on_erasure" if compact is None else compact
        return gdpr.erase(self.con, customer_id, self.pseudonyms, self.actor, compact,
                          lambda: erase_from_drops(self.project, customer_id))

    def compact(self) -> CompactReport:
        """Rewrite the DuckDB file so erased rows' bytes are gone; completes every pending erasure."""
        return gdpr.compact_file(self.con, self.actor)

    def pending_erasures(self) -> list[dict[str, Any]]:  # rows deleted, bytes in the file until compact()
        return pseudonyms.pending_erasures(self.con)

    def rotate_key(self) -> pseudonyms.Pseudonyms:
        """Add a key to the GDPR secret and re-key the suppression list and audit log with it."""
        rotated = self.__dict__["pseudonyms"] = pseudonyms.rotate(self.con, self.pseudonyms, self.key_file)
        gdpr.audit(self.con, self.actor, "key_rotation", None, {"keys": len(rotated.keys)})
        return rotated

    def export_customer(self, customer_id: str) -> dict[str, Any]:
        """Right of access: everything held about a customer (exactly what ``forget`` removes), as JSON-ready data."""
        return gdpr.export_customer(self.con, customer_id, self.actor, self.pseudonym(customer_id))

    def purge(self, dry_run: bool = True, now: datetime | None = None) -> dict[str, int]:
        """Apply the project's retention (``gdpr.retention_days``); a dry run only counts."""
        return gdpr.purge(self.con, self.project.gdpr.retention_days, now, dry_run, self.actor)

    def consents(self, at: date | datetime) -> ibis.Table:
        """The consent in force at ``at`` per customer, channel and purpose."""
        return consents_in_force(self.con, at, purpose=None)

    # ---- segmentations --------------------------------------------------------------

    def fit_segmentation(self, name: str, as_of: date | str) -> segmentations.FrozenModel:
        """Fit the declared segmentation ``name`` as of ``as_of``: a new frozen version, matched to the last."""
        return segmentations.fit(self.con, name, as_of, project=self.project)

    def refit_segmentation(self, name: str, as_of: date | str) -> segmentations.FrozenModel:
        """A new version of ``name`` (declared, or as stored) with cut points or centres of ``as_of``."""
        return segmentations.refit(self.con, name, as_of, project=self.project)

    def segmentation_model(self, name: str, version: int | None = None) -> segmentations.FrozenModel:
        """A stored segmentation model (the latest version by default)."""
        return segmentations.load_model(self.con, name, version)

    def segments(self, name: str, as_of: date | str, version: int | None = None) -> ibis.Table:
        """Who is in which segment as of ``as_of``, by the frozen model (lazy, in the engine)."""
        return segmentations.segments(self.con, name, as_of, version=version, project=self.project)

    def portraits(self, name: str, as_of: date | str, version: int | None = None) -> list[segmentations.Portrait]:
        """A portrait of each segment of ``name`` as of ``as_of``."""
        from segmento.segmentations.portraits import portraits

        model = segmentations.load_model(self.con, name, version)
        return portraits(self.con, model, self._segmentation_features(as_of, None))

    def quality(self, name: str, as_of: date | str, version: int | None = None, **options: Any) -> segmentations.QualityReport:
        """Homogeneity and separation per segment and feature, stability and predictive power of ``name``
        as of ``as_of`` (options: bootstraps, sample, horizon_days... see segmentations.quality)."""
        from segmento.segmentations.quality import quality

        model = segmentations.load_model(self.con, name, version)
        return quality(self.con, model, self._segmentation_features(as_of, model.features), as_of, **options)

    def _segmentation_features(self, as_of: date | str, names: list[str] | None) -> ibis.Table:
        from segmento.segmentations.api import as_date, features_at

        return features_at(self.con, as_date(as_of), self.project, names)

    # ---- predictive traits ----------------------------------------------------------

    def fit_predictive(self, as_of: date | str) -> Any:
        """Fit the purchase (BG/NBD or Pareto/NBD) and spend (Gamma-Gamma) models as of ``as_of``: a new version."""
        from segmento.predictive import fit_model

        return fit_model(self.con, as_of, project=self.project)

    def predictive_model(self, version: int | None = None) -> Any:
        """A stored predictive model (the latest version by default)."""
        from segmento.predictive import load_model

        return load_model(self.con, version)

    def predictive_traits(self, as_of: date | datetime | str, names: list[str] | None = None) -> ibis.Table:
        """p_alive, expected_orders_90d/365d, expected_avg_order_value, clv_12m as of ``as_of`` (lazy)."""
        from segmento.predictive import traits

        return traits(self.con, as_of, names, self.project)

    def predictive_ready(self, as_of: date | datetime | str) -> bool:
        """Whether a predictive model fitted by ``as_of`` exists (traits can be computed then)."""
        from segmento.predictive.registry import version_as_of

        return version_as_of(self.con, as_of) is not None

    def predictive_report(self, as_of: date | str, holdout_days: int | None = None) -> Any:
        """Calibration/holdout validation: fit up to ``as_of - holdout_days``, predicted vs actual after."""
        from segmento.predictive import validate

        return validate(self.con, as_of, project=self.project, holdout_days=holdout_days)

    # ---- dynamics -------------------------------------------------------------------

    def snapshot(self, period: date | str, names: list[str] | None = None, force: bool = False) -> SnapshotReport:
        """Snapshot the segmentations at the end of ``period`` and raise (and queue) its alerts.

        A period ending after the last loaded data is refused unless ``force``.
        """
        from segmento.dynamics.periods import period_end
        from segmento.dynamics.snapshots import take_snapshot

        grid = self.project.dynamics.grid
        return take_snapshot(self.con, self.project, period_end(period, grid), names,
                             on_new_alerts=self._queue_alerts, force=force)

    def monthly_run(self, period: date | str, force: bool = False) -> tuple[SnapshotReport, RefreshReport]:
        """The period's batch: the snapshot with its alerts queued, then the audience refresh as of the period
        end with its routed changes queued. One batch step: the features both read as of the period end are
        computed once, in one table, and so is the predictive traits' summary of each instant they read."""
        from segmento.dynamics.month import share_month_features
        from segmento.dynamics.periods import period_end
        from segmento.store.backend import batch_step

        end = period_end(period, self.project.dynamics.grid)
        with batch_step(self.con):
            share_month_features(self.con, self.project, self.audiences.checked(), end)
            return self.snapshot(end, force=force), self.refresh_audiences(end)

    def backfill(
        self, start: date | str, end: date | str, names: list[str] | None = None,
        on_period: Callable[[SnapshotReport], None] | None = None, deliver: bool = False, force: bool = False,
    ) -> list[SnapshotReport]:
        """Rebuild every period from ``start`` to ``end`` as it was, with the frozen models.

        History is not news: its alerts are stored, and queued for the journeys only if ``deliver``
        (and then only those younger than each route's ``max_alert_age``).
        """
        from segmento.dynamics.snapshots import backfill

        return backfill(self.con, self.project, start, end, names, on_period,
                        on_new_alerts=self._queue_alerts if deliver else None, force=force)

    def _queue_alerts(self, con: BaseBackend, rows: Any) -> None:  # routes and alert campaigns, same transaction
        from segmento.activation.routing import enqueue_alerts
        enqueue_alerts(con, self.project, alerts=rows)

    # ---- activation -----------------------------------------------------------------

    @cached_property
    def campaigns(self) -> Any:  # segmento.campaigns.Campaigns: declare, launch with a control group, results
        from segmento.campaigns.api import Campaigns
        return Campaigns(self.con, self.project, lambda: self.pseudonyms.keys[0], lambda: self.audiences)

    def enqueue_alerts(self, period: date | str | None = None) -> int:
        """Queue the stored alerts of ``period`` (default: the latest) for their routes; returns new messages."""
        from segmento.activation.routing import enqueue_alerts
        from segmento.dynamics.periods import period_end

        when = period_end(period, self.project.dynamics.grid) if period is not None else None
        return enqueue_alerts(self.con, self.project, period=when)

    def enqueue_audience_changes(self) -> int:
        """Queue stored audience enter/exit changes for their routes; returns new messages."""
        from segmento.activation.routing import enqueue_audience_changes

        return enqueue_audience_changes(self.con, self.project)

    def deliver(self, destinations: list[str] | None = None, until: Until = "due", lease: float = 60.0) -> DeliveryReport:
        """Deliver the outbox over this connection ('due': what is due now; 'settled': wait out retries).

        ``segmento deliver`` runs the same deliverer in its own process, opening the base per step.
        """
        from segmento.activation.deliver import Deliverer, held

        deliverer = Deliverer(self.project, held(self.con), destinations, lease=lease)
        try:
            return deliverer.run(until)
        finally:
            deliverer.close()

    def delivery_status(self) -> Any:
        """Per destination: pending, delivered, failed (dead letter), filtered (no consent), as a DataFrame."""
        from segmento.activation import outbox

        return outbox.status(self.con, [d.name for d in self.project.destinations])

    def dead_letters(self, destination: str | None = None) -> ibis.Table:
        """Messages that failed every attempt, with their last error."""
        from segmento.activation import outbox

        return outbox.dead_letters(self.con, destination)

    def retry_failed(self, destination: str | None = None) -> int:
        """Put dead letters back in the queue; returns how many."""
        from segmento.activation import outbox

        return outbox.requeue(self.con, destination)

    def export_audience(self, audience: str, destination: str, members: ibis.Table | None = None) -> ExportReport:
        """Send the audience's full membership to a destination now (profile columns as declared in ``exports``)."""
        from segmento.activation.exports import export_audience

        declared = [e for e in self.project.exports if (e.audience, e.to) == (audience, destination)]
        profile = declared[0].profile if declared else []
        return export_audience(self.con, self.project, audience, destination, members, profile)

    def close(self) -> None:
        engine_of(self.con).close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    target: str | Path | None = None, config: str | Path | Project | None = None, session: Any = None
) -> Workspace:
    """Open (or create) a knowledge base.

    ``target`` is a DuckDB file path, an Ibis URL (``pyspark://warehouse``) or a Spark
    Connect endpoint (``sc://host:15002``); when omitted, the project's ``engine`` section
    says where the batch runs (Spark, or DuckDB in the project's ``database`` file).
    ``session`` is a SparkSession to run on (a cluster's, a notebook's). ``config`` is a
    segmento.yaml path or a Project.
    """
    project = load_project(config) if isinstance(config, (str, Path)) else config
    engine = project.engine if project else EngineSection()
    if session is not None or str(target or "").startswith("sc://") or (target is None and engine.analytics == "spark"):
        remote = str(target) if target is not None else engine.remote
        options = {"remote": remote} if remote else {"master": engine.master, "warehouse": engine.warehouse}
        # the outbox, keys and audit log stay in the project's DuckDB file
        operational = engine_of(open_backend(project.database, engine.memory_limit)) if project else None
        con = connect_spark(session, database=engine.spark_database, operational=operational, conf=engine.conf, **options)
    else:
        con = open_backend(target if target is not None else project.database if project else "segmento.duckdb",
                           engine.memory_limit)
    return Workspace(con, project)
