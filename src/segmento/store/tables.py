"""Tables are created and migrated here, and only here.

``ensure_tables`` runs whenever a knowledge base is opened. It reads the layout version
stored in ``schema_version``, refuses a database written by a newer Segmento, applies the
migration steps the database has not had yet (in order), creates every declared table
and view still missing, and records the version reached. Stages get their tables from
``table()``, which makes sure they exist.

To change the layout: edit the declaration in ``store/registry.py``, append a step to
``MIGRATIONS`` that brings a database at the previous version to the new declaration, and
set ``store/layout.py`` to its number.
A step changes only tables that exist; tables still missing afterwards are created at
the current layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import ibis
import pyarrow as pa
import sqlglot.expressions as sge
from ibis.backends import BaseBackend
from ibis.common.exceptions import TableNotFound

from segmento.errors import UnsupportedError
from segmento.store.backend import append, transaction
from segmento.store.engines import engine_of, home
from segmento.store.layout import LAYOUT_VERSION
from segmento.store.registry import REGISTRY, SCHEMA_VERSION, TableSpec, spec
from segmento.store.views import VIEWS


@dataclass(frozen=True)
class Migration:
    """One numbered step from the previous layout version to ``version``."""

    version: int
    description: str
    apply: Callable[[BaseBackend], None]


def _unchanged(con: BaseBackend) -> None:
    """Nothing to alter: missing tables are created after the steps."""


def _add_columns(table: str, columns: dict[str, str]) -> Callable[[BaseBackend], None]:
    """A step adding nullable columns to a table, where it exists and lacks them."""

    def apply(con: BaseBackend) -> None:
        if table not in con.list_tables():
            return
        held = set(con.table(table).columns)
        for name, kind in columns.items():
            if name not in held:
                column = sge.ColumnDef(this=sge.to_identifier(name, quoted=True),
                                       kind=con.compiler.type_mapper.from_ibis(ibis.dtype(kind)))
                con.raw_sql(sge.Alter(this=sge.table_(table, quoted=True), kind="TABLE", actions=[column])
                            .sql(con.dialect))

    return apply


def _keyed_suppression(con: BaseBackend) -> None:
    """Suppression list by kind with its compaction time, ingestion log with suppressed rows.
    Erasures recorded before keep their unkeyed SHA-256 as kind 'customer-sha256' (still honoured)."""
    _add_columns("erased_customers", {"kind": "string", "compacted_at": "timestamp"})(con)
    _add_columns("ingestions", {"suppressed": "int64"})(con)
    if "erased_customers" in con.list_tables():
        con.raw_sql("UPDATE erased_customers SET kind = 'customer-sha256' WHERE kind IS NULL")


def _reasons(con: BaseBackend) -> None:
    """alerts gain reason and figures, audience_changes gains why; the membership view shows it."""
    _add_columns("alerts", {"reason": "string", "figures": "string"})(con)
    _add_columns("audience_changes", {"why": "string"})(con)
    existing = set(con.list_tables())
    for view, (source, definition) in VIEWS.items():
        if view in existing and source in existing:
            con.create_view(view, definition(con.table(source)), overwrite=True)


def _narrow_snapshots(con: BaseBackend) -> None:
    """Snapshot rows lose what the model gives: labels and ranks go to snapshot_segments (once per
    model version), the model version to snapshot_periods (once per period); the rows are copied
    narrow into the table as now declared. Every reader joins them back, so what it reads is unchanged."""
    _add_columns("snapshot_periods", {"version": "int64"})(con)
    snaps, periods, segments = (REGISTRY[n] for n in ("segment_snapshots", "snapshot_periods", "snapshot_segments"))
    existing = set(con.list_tables())
    if snaps.name not in existing or "segment_label" not in con.table(snaps.name).columns:
        return
    engine = engine_of(con)
    for needed in (periods, segments):
        if needed.name not in existing:
            create_table(con, needed)
    old = con.table(snaps.name)
    engine.append(segments.name, old.select(*segments.column_names).distinct())
    versions = old.select("period", "segmentation", "version").distinct().to_pyarrow()
    checked = {(r["period"], r["segmentation"]): r for r in con.table(periods.name).to_pyarrow().to_pylist()}
    rows = [{**checked.get((r["period"], r["segmentation"]), {}), **r} for r in versions.to_pylist()]
    engine.upsert(periods.name, pa.Table.from_pylist(rows, periods.schema.to_pyarrow()), periods.key)
    with engine.staged(old.select(*snaps.column_names)) as narrow:
        con.drop_table(snaps.name)
        create_table(con, snaps)
        engine.append(snaps.name, narrow)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the layout of databases made before versions were recorded", _unchanged),
    Migration(2, "quarantine: rule and parsed columns", _add_columns("quarantine", {"rule": "string",
                                                                                   "parsed": "string"})),
    Migration(3, "keyed suppression list (kind, compacted_at) and suppressed rows in the ingestion log",
              _keyed_suppression),
    Migration(4, "campaigns and campaign_targets tables", _unchanged),
    Migration(5, "quarantine: the customer and order ids each row names, as mapped", _add_columns(
        "quarantine", {"customer_id": "string", "order_id": "string"})),
    Migration(6, "alert reasons and figures, audience change why", _reasons),
    Migration(7, "segment_snapshots narrow: labels and ranks in snapshot_segments, model version in snapshot_periods",
              _narrow_snapshots),
)
if MIGRATIONS[-1].version != LAYOUT_VERSION:  # quick reads trust the file only at the layout migrations reach
    raise RuntimeError(f"the last migration reaches version {MIGRATIONS[-1].version}: set store/layout.py to it")


def stored_version(con: BaseBackend, existing: set[str] | None = None) -> tuple[int, bool]:
    """The database's layout version (0 when empty, 1 when made before versions were recorded)
    and whether it is recorded in ``schema_version``."""
    existing = set(con.list_tables()) if existing is None else existing
    if SCHEMA_VERSION.name in existing:
        found = con.table(SCHEMA_VERSION.name).version.max().execute()
        if found is not None:
            return int(found), True
    return int(bool(existing & set(REGISTRY))), False


def create_table(con: BaseBackend, table: TableSpec) -> None:
    """Create one declared table, empty (the one place tables are created), as its engine stores it
    (in the operational store when it is an operational table kept apart)."""
    engine_of(con).create_table(table.name, table.schema, table.partition_by)


def ensure_tables(con: BaseBackend, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database to the current layout (never loses data); returns its version."""
    latest = migrations[-1].version
    existing = engine_of(con).tables()
    found, recorded = stored_version(con, existing)
    if found > latest:
        raise UnsupportedError(
            f"this database's layout is at version {found}, newer than this Segmento knows (up to {latest}): "
            "open it with the Segmento version that wrote it, or upgrade Segmento"
        )
    missing_views = [name for name in VIEWS if name not in existing]
    if recorded and found == latest and set(REGISTRY) <= existing and not missing_views:
        _lookups(con)
        return latest
    steps = [step for step in migrations if step.version > found] if found else []
    with transaction(con):
        for step in steps:
            step.apply(con)
        existing = engine_of(con).tables()
        for table in REGISTRY.values():
            if table.name not in existing:
                create_table(con, table)
        for name in missing_views:
            source, definition = VIEWS[name]
            con.create_view(name, definition(con.table(source)))
        done = [(step.version, step.description) for step in steps]
        if not recorded and not done:
            done = [(latest, "created at this layout" if not found else migrations[found - 1].description)]
        if done:
            rows = [{"version": v, "applied_at": datetime.now(), "description": d} for v, d in done]
            append(con, SCHEMA_VERSION.name, pa.Table.from_pylist(rows, SCHEMA_VERSION.schema.to_pyarrow()))
        _lookups(con)
    return latest


def _lookups(con: BaseBackend) -> None:
    """The declared lookup indexes, created where missing (a base made before they were declared gets them here)."""
    engine_of(con).ensure_lookups({t.name: t.lookup for t in REGISTRY.values() if t.lookup})


def table(con: BaseBackend, name: str) -> ibis.Table:
    """A declared table, created (with every other missing one) if this database lacks it."""
    spec(name)
    held = home(con, name)
    try:
        return held.table(name)
    except TableNotFound:
        ensure_tables(con)
        return held.table(name)


def beside(con: BaseBackend, expr: ibis.Table) -> ibis.Table:
    """``expr`` as a table ``con`` can join: itself, or its rows copied from the operational store (keys only)."""
    return expr if expr._find_backend() is con else ibis.memtable(expr.to_pyarrow())
