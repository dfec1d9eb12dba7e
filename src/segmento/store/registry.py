"""Every table of the database, declared once: the knowledge base, what later stages
derive from it, and the system's own operational tables.

Each declaration says the table's columns and types, key, role, the stage that writes
it and how its rows refer to a customer (``customer_ref``), which is how erasure and
access requests find a customer's rows by structure. Stages import their table's
declaration from here and ask ``store.tables.table()`` for it; nothing else creates
tables. To add or change a table: declare it here, and if existing databases need
changing, append a step to ``store.tables.MIGRATIONS``.
"""

from __future__ import annotations

from segmento.store.campaign_tables import CAMPAIGN_TARGETS, CAMPAIGNS
from segmento.store.schema import (
    CONSENTS,
    CUSTOMERS,
    EVENTS,
    ORDER_LINES,
    ORDERS,
    Column,
    CustomerColumn,
    HashedCustomer,
    JsonField,
    NoCustomer,
    QuarantinedRow,
    Role,
    TableSpec,
)

DERIVED, OPERATIONAL = Role.DERIVED, Role.OPERATIONAL


def _customer(required: bool = False) -> Column:
    return Column("customer_id", "string", "Customer concerned", required=required, personal=True)


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

# ---- audiences ------------------------------------------------------------------------

AUDIENCES = TableSpec(
    "audiences",
    "Audience definitions saved through the API or the library (the project file declares others).",
    (
        Column("name", "string", "Audience name"),
        Column("rule", "string", "The rule, in the rule language"),
        Column("description", "string", "What it is for"),
        Column("owner", "string", "Who maintains it"),
        Column("tags", "array<string>", "Free tags"),
        Column("updated_at", "timestamp", "Last change"),
    ),
    key=("name",),
    role=OPERATIONAL,
    stage="audiences",
    customer_ref=NoCustomer("rules, not members"),
)

AUDIENCE_CHANGES = TableSpec(
    "audience_changes",
    "Every audience enter and exit, append-only; delivered by change_id.",
    (
        Column("change_id", "string", "md5 of reason|audience|customer|kind: the same change has the same id",
               required=True),
        Column("seq", "int", "Order in which changes were written", required=True),
        _customer(required=True),
        Column("audience", "string", "Audience name", required=True),
        Column("kind", "string", "enter or exit", required=True, allowed=("enter", "exit")),
        Column("at", "timestamp", "The instant membership was evaluated", required=True),
        Column("reason", "string", "event:<event_id>, refresh:<refresh_id> or removed:<refresh_id>", required=True),
        Column("recorded_at", "timestamp", "When it was written"),
    ),
    key=("change_id",),
    role=DERIVED,
    stage="audiences",
    time_column="at",
)

AUDIENCE_REFRESHES = TableSpec(
    "audience_refreshes",
    "One row per batch refresh of the audiences.",
    (
        Column("refresh_id", "string", "Refresh identifier"),
        Column("as_of", "timestamp", "Instant evaluated"),
        Column("started_at", "timestamp", "When it ran"),
        Column("seconds", "float", "How long it took"),
        Column("audiences", "int", "Audiences evaluated"),
        Column("members", "int", "Members in all"),
        Column("enters", "int", "Changes into an audience"),
        Column("exits", "int", "Changes out of an audience"),
    ),
    key=("refresh_id",),
    role=OPERATIONAL,
    stage="audiences",
    customer_ref=NoCustomer("counts per refresh"),
)

# ---- predictive traits ----------------------------------------------------------------

PREDICTIVE_MODELS = TableSpec(
    "predictive_models",
    "Frozen, versioned purchase (BG/NBD or Pareto/NBD) and spend (Gamma-Gamma) models: one JSON document per version.",
    (
        Column("version", "int", "Version, from 1"),
        Column("kind", "string", "bgnbd or pareto_nbd"),
        Column("as_of", "date", "Date the model was fitted as of (traits as of D use the latest on or before D)"),
        Column("fitted_at", "timestamp", "When it was fitted"),
        Column("model", "string", "Parameters, unit, discount rate and fit statistics as JSON"),
    ),
    key=("version",),
    role=DERIVED,
    stage="predictive",
    customer_ref=NoCustomer("fitted parameters, no customer rows"),
)

PREDICTIVE_SCORES = TableSpec(
    "predictive_scores",
    "Scores of each distinct (frequency, recency, T) history per model version, joined back to customers.",
    (
        Column("version", "int", "Model version"),
        Column("btyd_frequency", "float", "Repeat purchase days"),
        Column("btyd_recency", "float", "Days from the first to the last purchase day"),
        Column("btyd_T", "float", "Days from the first purchase day to the date"),
        Column("p_alive", "float", "Probability still active"),
        Column("expected_orders_90d", "float", "Expected repeat purchase days in 90 days"),
        Column("expected_orders_365d", "float", "Expected repeat purchase days in 365 days"),
        Column("discounted_orders_12m", "float", "Expected purchases over 12 months, each month discounted"),
    ),
    key=("version", "btyd_frequency", "btyd_recency", "btyd_T"),
    role=DERIVED,
    stage="predictive",
    customer_ref=NoCustomer("purchase histories as counts and day spans, no customer id"),
)

# ---- segmentations and dynamics -------------------------------------------------------

SEGMENTATION_MODELS = TableSpec(
    "segmentation_models",
    "Frozen, versioned segmentation models: one JSON document per (name, version).",
    (
        Column("name", "string", "Segmentation name"),
        Column("version", "int", "Version, from 1"),
        Column("kind", "string", "rfm, tiers or kmeans"),
        Column("as_of", "date", "Date the model was fitted as of"),
        Column("fitted_at", "timestamp", "When it was fitted"),
        Column("model", "string", "Definition, learned state and segments as JSON"),
    ),
    key=("name", "version"),
    role=DERIVED,
    stage="segmentations",
    customer_ref=NoCustomer("learned cut points and centres, no customer rows"),
)

SEGMENT_SNAPSHOTS = TableSpec(
    "segment_snapshots",
    "Who was in which segment of each segmentation at each period end.",
    (
        Column("period", "date", "Period end"),
        Column("segmentation", "string", "Segmentation name"),
        Column("version", "int", "Model version used"),
        _customer(),
        Column("segment_id", "string", "Segment"),
        Column("segment_label", "string", "Segment label"),
        Column("segment_rank", "int", "1 = best; lets trajectory rules say down"),
        Column("value", "float", "Spend over the 12 months before the period end: the value at stake"),
    ),
    key=("period", "segmentation", "customer_id"),
    role=DERIVED,
    stage="dynamics",
    time_column="period",
    partition_by=("segmentation", "period"),
)

ALERTS = TableSpec(
    "alerts",
    "Trajectory alerts, once per customer, rule and period.",
    (
        Column("alert_id", "string", "Hash of (customer, rule, period)", required=True),
        Column("period", "date", "Period the move ended in", required=True),
        _customer(required=True),
        Column("rule", "string", "Trajectory rule name", required=True),
        Column("segmentation", "string", "Segmentation watched", required=True),
        Column("from_segment", "string", "Segment before", required=True),
        Column("to_segment", "string", "Segment after, or (exit)", required=True),
        Column("kind", "string", "The rule's kind of move", required=True),
        Column("journey", "string", "Journey to trigger"),
        Column("priority", "float", "Value at stake: last-12-month spend at the earlier period", required=True),
        Column("created_at", "timestamp", "When raised", required=True),
    ),
    key=("alert_id",),
    role=DERIVED,
    stage="dynamics",
    time_column="period",
    partition_by=("period",),
)

# ---- activation and service -----------------------------------------------------------

OUTBOX = TableSpec(
    "activation_outbox",
    "Messages accepted for delivery, kept until settled; message_id is the receivers' idempotency key.",
    (
        Column("message_id", "string", "Idempotency key"),
        Column("destination", "string", "Destination name"),
        Column("source", "string", "alert, audience_change or export"),
        Column("source_id", "string", "alert_id, change_id, or export_id:customer_id"),
        Column("topic", "string", "alert-<kind>, audience-<name>, export-<audience>"),
        _customer(),
        Column("priority", "float", "Value at stake"),
        Column("payload", "string", "The JSON sent, built at enqueue time", personal=True),
        Column("status", "string", "pending, delivered, failed or filtered"),
        Column("attempts", "int", "Attempts so far"),
        Column("next_attempt_at", "timestamp", "Next attempt, also the lease of a claimed message"),
        Column("last_error", "string", "Last failure"),
        Column("created_at", "timestamp", "When queued"),
        Column("settled_at", "timestamp", "When delivered, filtered or dead"),
    ),
    key=("message_id",),
    role=OPERATIONAL,
    stage="activation",
    customer_ref=(CustomerColumn(), JsonField("payload", "customer_id")),
)

EXPORTS = TableSpec(
    "activation_exports",
    "One row per audience export: members = sent + filtered.",
    (
        Column("export_id", "string", "Derived from audience, destination and window"),
        Column("audience", "string", "Audience exported"),
        Column("destination", "string", "Destination name"),
        Column("window_start", "timestamp", "The schedule window; empty for an export on demand"),
        Column("started_at", "timestamp", "When it ran"),
        Column("members", "int", "Members"),
        Column("filtered", "int", "Members without consent to the destination's channel"),
        Column("sent", "int", "Rows written or messages queued"),
        Column("location", "string", "File written, or outbox"),
    ),
    key=("export_id",),
    role=OPERATIONAL,
    stage="activation",
    customer_ref=NoCustomer("counts per export"),
)

API_KEYS = TableSpec(
    "api_keys",
    "API keys, stored only as a SHA-256 hash with their scopes.",
    (
        Column("key_id", "string", "Public key id"),
        Column("name", "string", "What the key is for"),
        Column("key_hash", "string", "SHA-256 hex of the whole key"),
        Column("scopes", "string", "Comma-separated: read, write, admin"),
        Column("created_at", "timestamp", "When created"),
        Column("revoked_at", "timestamp", "Empty while the key is valid"),
    ),
    key=("key_id",),
    role=OPERATIONAL,
    stage="service",
    customer_ref=NoCustomer("keys of API clients"),
)

REGISTRY: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        CUSTOMERS, ORDERS, ORDER_LINES, EVENTS, CONSENTS,
        QUARANTINE, INGESTIONS, ERASED, AUDIT, GDPR_KEY, SCHEMA_VERSION,
        AUDIENCES, AUDIENCE_CHANGES, AUDIENCE_REFRESHES,
        PREDICTIVE_MODELS, PREDICTIVE_SCORES,
        SEGMENTATION_MODELS, SEGMENT_SNAPSHOTS, ALERTS,
        OUTBOX, EXPORTS, API_KEYS,
        CAMPAIGNS, CAMPAIGN_TARGETS,
    )
}


def spec(name: str) -> TableSpec:
    """A table's declaration; an unknown name is a bug in the caller, so it says which exist."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no table {name!r} is declared in store/registry.py; declared: {', '.join(REGISTRY)}") from None
