"""Every table of the database, declared once: the knowledge base, what later stages
derive from it, and the system's own operational tables.

Each declaration says the table's columns and types, key, role, the stage that writes
it and how its rows refer to a customer (``customer_ref``), which is how erasure and
access requests find a customer's rows by structure. Stages import their table's
declaration from here (those of the later stages are written in
``registry_stages.py``) and ask ``store.tables.table()`` for it; nothing else creates
tables. To add or change a table: declare it here, and if existing databases need
changing, append a step to ``store.tables.MIGRATIONS``.

``operational_store=True`` marks the row-level, transactional state (the outbox and its
delivery state, export log, API keys, audit log, campaigns and their drawn targets): when
the batch runs on Spark, those live in the operational store (a DuckDB file or
PostgreSQL) beside the warehouse.
"""

from __future__ import annotations

from segmento.store.registry_stages import (
    ALERTS,
    API_KEYS,
    AUDIENCES,
    AUDIENCE_CHANGES,
    AUDIENCE_REFRESHES,
    CAMPAIGN_TARGETS,
    CAMPAIGNS,
    EXPORTS,
    OUTBOX,
    PREDICTIVE_MODELS,
    PREDICTIVE_SCORES,
    SEGMENTATION_MODELS,
    SEGMENT_SNAPSHOTS,
    SNAPSHOT_PERIODS,
    SNAPSHOT_SEGMENTS,
)
from segmento.store.schema import (
    CONSENTS,
    CUSTOMERS,
    EVENTS,
    ORDER_LINES,
    ORDERS,
    Column,
    HashedCustomer,
    NoCustomer,
    QuarantinedRow,
    Role,
    TableSpec,
)

OPERATIONAL = Role.OPERATIONAL


# ---- store: ingestion, GDPR and the schema itself ------------------------------------

QUARANTINE = TableSpec(
    "quarantine",
    "Rejected source rows, kept with their file, line, field and reason.",
    (
        Column("ingestion_id", "string", "The ingestion run that rejected the row"),
        Column("table_name", "string", "Table the row was meant for"),
        Column("source", "string", "File or frame it came from"),
        Column("line", "int", "Line where the row starts in a file (header = 1); row number in a frame"),
        Column("field", "string", "Field at fault, if one"),
        Column("reason", "string", "Why it was rejected"),
        Column("raw", "string", "The row as read, as a JSON object keyed by the source's column names", personal=True),
        Column("rule", "string", "The reason without the row's value, what reports count"),
        Column("parsed", "string", "Parsed values (JSON) of a row that waits for another table's row, to "
               "load it once that row arrives", personal=True),
        Column("customer_id", "string", "The customer id the row names, read through the column mapping", personal=True),
        Column("order_id", "string", "The order id the row names (an order's own, or an order line's)"),
    ),
    key=("table_name", "source", "line", "raw"),
    role=OPERATIONAL,
    customer_ref=QuarantinedRow(),
)

INGESTIONS = TableSpec(
    "ingestions",
    "One row per ingestion run and table: rows in = loaded + duplicates + rejected + suppressed.",
    (
        Column("ingestion_id", "string", "Run identifier"),
        Column("table_name", "string", "Table loaded"),
        Column("source", "string", "File or frame loaded"),
        Column("started_at", "timestamp", "When the run started"),
        Column("rows_in", "int", "Rows read"),
        Column("loaded", "int", "Rows loaded"),
        Column("duplicates", "int", "Rows already held"),
        Column("rejected", "int", "Rows quarantined"),
        Column("suppressed", "int", "Rows of customers erased under GDPR, stored nowhere"),
    ),
    key=("ingestion_id", "table_name"),
    role=OPERATIONAL,
    customer_ref=NoCustomer("counts per run"),
)

ERASED = TableSpec(
    "erased_customers",
    "The suppression list: erased customers and their orders, so an old file cannot bring them back.",
    (
        Column("id_hash", "string", "Keyed pseudonym (HMAC-SHA256) of the erased customer or order id"),
        Column("erased_at", "timestamp", "When"),
        Column("kind", "string", "customer, order, or customer-sha256 (erased before pseudonyms were keyed)"),
        Column("compacted_at", "timestamp", "When the database file was rewritten without the rows' bytes"),
    ),
    key=("id_hash",),
    role=OPERATIONAL,
    customer_ref=HashedCustomer("id_hash"),
)

AUDIT = TableSpec(
    "audit_log",
    "Who read or changed what (no personal values).",
    (
        Column("at", "timestamp", "When"),
        Column("actor", "string", "API key id, 'cli' or 'library'"),
        Column("action", "string", "What was done (customer_360_read, erasure, api_key_create...)"),
        Column("target", "string", "What it was done to: customer:<keyed pseudonym>, key:<key id>, or empty"),
        Column("details", "string", "Counts and options as a JSON object"),
    ),
    key=(),
    role=OPERATIONAL,
    operational_store=True,
    customer_ref=HashedCustomer("target", prefix="customer:"),
)
# audit actions that change the knowledge base's rows (reads, key and export actions do not)
CHANGES_BASE = ("erasure", "retention_purge", "quarantine_resolve", "compaction")

GDPR_KEY = TableSpec(
    "gdpr_key",
    "Fingerprint of the secret the keyed pseudonyms are made with (the secret itself lives outside).",
    (
        Column("fingerprint", "string", "HMAC of a fixed text under the key chain"),
        Column("keys", "int", "Keys in the chain"),
        Column("created_at", "timestamp", "When this chain was first used"),
    ),
    key=("fingerprint",),
    role=OPERATIONAL,
    customer_ref=NoCustomer("a fingerprint of the secret"),
)

SCHEMA_VERSION = TableSpec(
    "schema_version",
    "The layout version of this database: one row per migration step applied.",
    (
        Column("version", "int", "Layout version reached"),
        Column("applied_at", "timestamp", "When"),
        Column("description", "string", "What the step changed"),
    ),
    key=("version",),
    role=OPERATIONAL,
    customer_ref=NoCustomer("the database's layout version"),
)

REGISTRY: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        CUSTOMERS, ORDERS, ORDER_LINES, EVENTS, CONSENTS,
        QUARANTINE, INGESTIONS, ERASED, AUDIT, GDPR_KEY, SCHEMA_VERSION,
        AUDIENCES, AUDIENCE_CHANGES, AUDIENCE_REFRESHES,
        PREDICTIVE_MODELS, PREDICTIVE_SCORES,
        SEGMENTATION_MODELS, SEGMENT_SNAPSHOTS, SNAPSHOT_SEGMENTS, SNAPSHOT_PERIODS, ALERTS,
        OUTBOX, EXPORTS, API_KEYS,
        CAMPAIGNS, CAMPAIGN_TARGETS,
    )
}


KEPT_APART = frozenset(name for name, table in REGISTRY.items() if table.operational_store)


def spec(name: str) -> TableSpec:
    """A table's declaration; an unknown name is a bug in the caller, so it says which exist."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no table {name!r} is declared in store/registry.py; declared: {', '.join(REGISTRY)}") from None
