"""GDPR operations on the knowledge base: access, erasure, retention, audit.

Erasure and access follow structure only: every table declares how its rows refer to a
customer (``customer_ref`` in ``store/registry.py``, read by ``customer_refs``), and the customer's rows are those matching by equality,
directly or through her orders. The two rights use the same conditions, so what access
shows is exactly what erasure removes. A table that declares no reference is never
touched; a table that declares nothing at all stops erasure (it could not be exact).

The erased customer and her order ids stay only as keyed pseudonyms (``pseudonyms``) on
the suppression list, so a later load of an old file cannot bring them back. Deleted
rows keep their bytes in the database file until it is rewritten (``compact``): each
erasure is pending until then.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmento.errors import SegmentoError
from segmento.store.backend import append, base_tables, count_where, delete_where, transaction
from segmento.store.engines import engine_of, home
from segmento.store.customer_refs import DECLARED, Bind, Part, matches, order_ids_query
from segmento.store.compact import CompactReport, FileInUse, compact
from segmento.store.pseudonyms import CUSTOMER, ORDER, Pseudonyms, pending_erasures
from segmento.store import registry

AUDIT, ERASED = registry.AUDIT.name, registry.ERASED.name

RETAINABLE = {"events": "occurred_at", "orders": "ordered_at"}


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: rows removed per table, and whether the bytes are gone from the file yet."""

    removed: dict[str, int]
    physically_complete: bool
    note: str


def audit(con: BaseBackend, actor: str, action: str, target: str | None = None, details: dict | None = None) -> None:
    """Record who read or changed what (no personal values: customers by keyed pseudonym)."""
    row = {"at": datetime.now(), "actor": actor, "action": action, "target": target,
           "details": json.dumps(details or {}, default=str)}
    insert_rows(con, AUDIT, [row])


def insert_rows(con: BaseBackend, table: str, rows: list[dict[str, Any]]) -> None:
    """A few rows: one prepared INSERT on DuckDB (an Ibis insert costs a schema read and a staging)."""
    con = home(con, table)
    if con.name != "duckdb":
        append(con, table, pa.Table.from_pylist(rows))
        return
    names = list(rows[0])
    columns = ", ".join(f'"{n}"' for n in names)
    con.con.executemany(f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join("?" * len(names))})',
                        [[row[n] for n in names] for row in rows])


def declared_tables(con: BaseBackend) -> dict[str, tuple[Part, ...]]:
    """Every table of the base that refers to customers, with how; undeclared tables are refused."""
    names = base_tables(con)
    undeclared = [name for name in names if name not in DECLARED]
    if undeclared:
        raise SegmentoError(
            f"table(s) {', '.join(undeclared)} are not declared, so erasure cannot know whether their rows "
            "belong to a customer: declare them (with their customer_ref) in segmento/store/registry.py"
        )
    return {name: DECLARED[name] for name in names if DECLARED[name]}


def _select(con: BaseBackend, query: sge.Select, bind: Bind) -> pa.Table:
    """Rows of a query, its values bound (DuckDB) or inlined as quoted literals (other engines)."""
    sql = query.sql(con.dialect)
    return con.con.execute(sql, dict(bind)).fetch_arrow_table() if bind.bound else con.sql(sql).to_pyarrow()


def _delete(con: BaseBackend, name: str, where: sge.Condition, bind: Bind) -> int:
    """Delete the matching rows (bound values on DuckDB; elsewhere the engine's own delete,
    a rewrite of the table's files on Spark); returns how many."""
    if not bind.bound:
        return engine_of(con).delete_where(name, where)
    table = sge.table_(name, quoted=True)
    count = _select(con, sg.select("COUNT(*)").from_(table).where(where), bind).column(0)[0].as_py()
    if count:
        con.con.execute(sge.delete(table, where=where).sql(con.dialect), dict(bind))
    return count


def _bind(con: BaseBackend) -> Bind:
    return Bind(bound=con.name == "duckdb")


def order_ids(con: BaseBackend, customer_id: str) -> list[str]:
    """The customer's order ids, loaded or rejected (see ``customer_refs.order_ids_query``)."""
    bind = _bind(con)
    found = _select(con, order_ids_query(customer_id, bind), bind).column(0).to_pylist()
    return sorted({order for order in found if order is not None})


def held_rows(con: BaseBackend, customer_id: str) -> tuple[dict[str, tuple[sge.Condition, Bind]], list[str]]:
    """table -> (condition selecting the customer's rows, its bound values), and her order ids."""
    orders = order_ids(con, customer_id)
    conditions = {}
    for name, ref in declared_tables(con).items():
        bind = _bind(home(con, name))
        where = matches(ref, customer_id, orders, bind)
        if where is not None:
            conditions[name] = (where, bind)
    return conditions, orders


def forget(con: BaseBackend, customer_id: str, pseudonyms: Pseudonyms, actor: str = "library") -> dict[str, int]:
    """Erase a customer's rows everywhere (one transaction); returns rows removed per table.

    Her id and order ids join the suppression list as keyed pseudonyms, pending compaction;
    the audit log records the erasure under the same pseudonym.
    """
    with transaction(con):
        conditions, orders = held_rows(con, customer_id)
        removed = {name: _delete(home(con, name), name, where, bind) for name, (where, bind) in conditions.items()}
        now = datetime.now()
        ids = [(pseudonyms.of(customer_id), CUSTOMER)] + [(pseudonyms.of(o), ORDER) for o in orders]
        bind = _bind(con)
        listed = sg.select("id_hash").from_(sge.table_(ERASED, quoted=True)).where(
            sge.column("id_hash", quoted=True).isin(*(bind(h) for h, _ in ids)))
        held = set(_select(con, listed, bind).column(0).to_pylist())
        rows = [{"id_hash": h, "kind": k, "erased_at": now, "compacted_at": None} for h, k in ids if h not in held]
        if rows:
            insert_rows(con, ERASED, rows)
        audit(con, actor, "erasure", f"customer:{ids[0][0]}", {"rows_removed": sum(removed.values())})
    return {name: count for name, count in removed.items() if count}


def export_customer(
    con: BaseBackend, customer_id: str, actor: str = "library", target: str | None = None
) -> dict[str, Any]:
    """Right of access: every row erasure would remove, table by table, as JSON-ready values."""
    conditions, _ = held_rows(con, customer_id)
    held: dict[str, list[dict[str, Any]]] = {}
    for name, (where, bind) in conditions.items():
        rows = _select(home(con, name), sg.select("*").from_(sge.table_(name, quoted=True)).where(where), bind).to_pylist()
        if rows:
            held[name] = rows
    audit(con, actor, "access_export", target, {"tables": sorted(held)})
    return json.loads(json.dumps({"customer_id": customer_id, "data": held}, default=str))


def erase(
    con: BaseBackend, customer_id: str, secret: Pseudonyms, actor: str, compact: bool, in_files: Callable[[], int]
) -> Erasure:
    """``forget``, then the rows of files still in drop folders, then (``compact``, DuckDB) the file rewrite."""
    removed = forget(con, customer_id, secret, actor)
    dropped = in_files()
    removed |= {"(drop files)": dropped} if dropped else {}
    if not compact or con.name != "duckdb":
        return Erasure(removed, False, pending_note(con))
    try:
        return completed(removed, compact_file(con, actor).seconds)
    except FileInUse as exc:
        return Erasure(removed, False, f"{pending_note(con)}; the rewrite could not run: {exc}")


def compact_file(con: BaseBackend, actor: str) -> CompactReport:
    """Rewrite the database file (see ``compact``), audited."""
    report = compact(con)
    audit(con, actor, "compaction", None, {"completed": report.completed})
    return report


def completed(removed: dict[str, int], seconds: float) -> Erasure:
    """An erasure whose rows are deleted and whose database file was rewritten after."""
    return Erasure(removed, True, f"rows deleted and the database file rewritten ({seconds:.1f}s): "
                                  "the erased values are gone from the file and its WAL")


def pending_note(con: BaseBackend) -> str:
    """What an erasure left on disk, said plainly."""
    if con.name != "duckdb":
        return (f"rows deleted on {con.name} (tables rewritten without them); copies the storage keeps "
                "elsewhere (table history, snapshots, backups) are not segmento's to remove")
    return ("rows deleted; their bytes stay in the database file until `segmento gdpr compact` rewrites it "
            f"({len(pending_erasures(con))} erasure(s) pending: `segmento gdpr status`)")


def purge(
    con: BaseBackend, retention_days: dict[str, int], now: datetime | None = None, dry_run: bool = True,
    actor: str = "library",
) -> dict[str, int]:
    """Remove events and orders (with their lines) older than their retention; dry run only counts."""
    unknown = sorted(set(retention_days) - set(RETAINABLE))
    if unknown:
        raise SegmentoError(f"retention applies to {', '.join(RETAINABLE)}; not to {', '.join(unknown)}")
    now = now or datetime.now()
    counts: dict[str, int] = {}
    with transaction(con):
        for table, days in retention_days.items():
            cutoff = sge.Literal.string((now - timedelta(days=days)).isoformat(sep=" "))
            old = sge.column(RETAINABLE[table], quoted=True) < sge.cast(cutoff, "timestamp")
            if table == "orders":
                old_orders = sg.select("order_id").from_(sge.table_("orders", quoted=True)).where(old)
                lines_where = sge.column("order_id", quoted=True).isin(query=old_orders)
                counts["order_lines"] = (
                    count_where(con, "order_lines", lines_where) if dry_run else delete_where(con, "order_lines", lines_where)
                )
            counts[table] = count_where(con, table, old) if dry_run else delete_where(con, table, old)
        if not dry_run:
            audit(con, actor, "retention_purge", None, counts)
    return counts
