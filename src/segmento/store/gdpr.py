"""GDPR operations on the knowledge base: access, erasure, retention, audit.

Erasure finds personal data by shape rather than by a fixed list of tables, so tables
added by later stages (snapshots, memberships, alerts, outbox...) are covered too:
every table with a ``customer_id`` column loses the customer's rows, and in tables
without one, rows whose text columns hold the id (raw quarantined rows, JSON payloads)
are removed. Erased ids are kept only as SHA-256 hashes, so an old file re-ingested
later cannot bring the customer back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmento.errors import SegmentoError
from segmento.store.backend import append, base_tables, count_where, delete_where, equals, transaction
from segmento.store.registry import AUDIT, ERASED
from segmento.store.schema import id_hash

GDPR_TABLES = {ERASED.name, AUDIT.name}
RETAINABLE = {"events": "occurred_at", "orders": "ordered_at"}

# Later stages that keep personal data outside the knowledge base (e.g. files waiting in
# an export queue) register a function here; forget() calls each with the customer id.
external_erasers: list[Callable[[BaseBackend, str], int]] = []


def audit(con: BaseBackend, actor: str, action: str, target: str | None = None, details: dict | None = None) -> None:
    """Record who read or changed what (no personal values in ``details``)."""
    row = {
        "at": [datetime.now()],
        "actor": [actor],
        "action": [action],
        "target": [target],
        "details": [json.dumps(details or {}, default=str)],
    }
    append(con, AUDIT.name, pa.table(row))


def _columns_of(con: BaseBackend) -> dict[str, ibis.Schema]:
    return {name: con.table(name).schema() for name in base_tables(con)}


def _text_mentions(column: str, customer_id: str) -> sge.Condition:
    """The column is the id, or holds it as a JSON string value."""
    quoted = json.dumps(customer_id)
    return sge.or_(
        sge.column(column, quoted=True).eq(sge.Literal.string(customer_id)),
        sge.column(column, quoted=True).like(sge.Literal.string(f"%{_like_escape(quoted)}%")),
    )


def _like_escape(text: str) -> str:
    return text.replace("%", "").replace("_", "")  # ids with LIKE wildcards only widen the match


def forget(con: BaseBackend, customer_id: str, actor: str = "library") -> dict[str, int]:
    """Erase a customer everywhere; returns rows removed per table.

    The audit log keeps the fact and time of the erasure, not who it was.
    """
    removed: dict[str, int] = {}
    with transaction(con):
        tables = _columns_of(con)
        orders = sg.select("order_id").from_(sge.table_("orders", quoted=True)).where(
            equals("customer_id", customer_id)
        )
        removed["order_lines"] = delete_where(con, "order_lines", sge.column("order_id", quoted=True).isin(query=orders))
        for name, schema in tables.items():
            if name in GDPR_TABLES or name == "order_lines":
                continue
            if "customer_id" in schema:
                where = equals("customer_id", customer_id)
            else:
                texts = [c for c, t in schema.items() if t.is_string()]
                if not texts:
                    continue
                where = sge.or_(*(_text_mentions(c, customer_id) for c in texts))
            removed[name] = delete_where(con, name, where)
        append(con, ERASED.name, pa.table({"id_hash": [id_hash(customer_id)], "erased_at": [datetime.now()]}))
        removed_outside = sum(eraser(con, customer_id) for eraser in external_erasers)
        if removed_outside:
            removed["(files)"] = removed_outside
        audit(con, actor, "erasure", None, {"rows_removed": sum(removed.values())})
    return {name: count for name, count in removed.items() if count}


def export_customer(con: BaseBackend, customer_id: str, actor: str = "library") -> dict[str, Any]:
    """Right of access: every row held about a customer, table by table, as JSON-ready values."""
    held: dict[str, list[dict[str, Any]]] = {}
    for name, schema in _columns_of(con).items():
        if name in GDPR_TABLES or "customer_id" not in schema:
            continue
        table = con.table(name)
        rows = table.filter(table.customer_id == customer_id).to_pyarrow().to_pylist()
        if rows:
            held[name] = rows
    order_ids = [row["order_id"] for row in held.get("orders", [])]
    if order_ids:
        lines = con.table("order_lines")
        held["order_lines"] = lines.filter(lines.order_id.isin(order_ids)).to_pyarrow().to_pylist()
    quarantine = con.table("quarantine")
    mentions = quarantine.filter(quarantine.raw.contains(json.dumps(customer_id))).to_pyarrow().to_pylist()
    if mentions:
        held["quarantine"] = mentions
    audit(con, actor, "access_export", None, {"tables": sorted(held)})
    return json.loads(json.dumps({"customer_id": customer_id, "data": held}, default=str))


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
