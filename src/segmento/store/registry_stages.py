"""The tables the later stages write: audiences, predictive traits, segmentations,
dynamics, activation, campaigns and the service. Declared as in ``registry.py`` (which lists them
in the registry): columns, key, role, stage and how rows refer to a customer.
"""

from __future__ import annotations

from segmento.store.schema import Column, CustomerColumn, JsonField, NoCustomer, Role, TableSpec

DERIVED, OPERATIONAL = Role.DERIVED, Role.OPERATIONAL


def _customer(required: bool = False) -> Column:
    return Column("customer_id", "string", "Customer concerned", required=required, personal=True)


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
        Column("why", "string", "The clause that changed, with its figures: age 40 -> 41"),
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
    "Who was in which segment of each segmentation at each period end. Only what varies per customer is "
    "stored: the model version is the period's (snapshot_periods), label and rank the version's "
    "(snapshot_segments); readers get them joined back (dynamics.store.snapshots).",
    (
        Column("period", "date", "Period end"),
        Column("segmentation", "string", "Segmentation name"),
        _customer(),
        Column("segment_id", "string", "Segment"),
        Column("value", "float", "Spend over the 12 months before the period end: the value at stake"),
    ),
    key=("period", "segmentation", "customer_id"),
    role=DERIVED,
    stage="dynamics",
    time_column="period",
    partition_by=("segmentation", "period"),
)

SNAPSHOT_SEGMENTS = TableSpec(
    "snapshot_segments",
    "The segments of each model version snapshots were taken with: label and rank, joined back to the snapshot rows.",
    (
        Column("segmentation", "string", "Segmentation name"),
        Column("version", "int", "Model version"),
        Column("segment_id", "string", "Segment"),
        Column("segment_label", "string", "Segment label"),
        Column("segment_rank", "int", "1 = best; lets trajectory rules say down"),
    ),
    key=("segmentation", "version", "segment_id"),
    role=DERIVED,
    stage="dynamics",
    customer_ref=NoCustomer("segment labels and ranks of a model version, no customer rows"),
)

SNAPSHOT_PERIODS = TableSpec(
    "snapshot_periods",
    "Per segmentation and period: the model version used, and whether every feature window fits in the loaded history.",
    (
        Column("period", "date", "Period end"),
        Column("segmentation", "string", "Segmentation name"),
        Column("complete", "boolean", "False: a feature window reaches before the first order (no alert raised)"),
        Column("needs_from", "date", "First day the longest feature window reads"),
        Column("data_from", "date", "First order in the base when the snapshot was taken"),
        Column("data_to", "date", "Last order or event in the base then"),
        Column("note", "string", "Why the period is incomplete"),
        Column("version", "int", "Model version the period's memberships were assigned with"),
    ),
    key=("period", "segmentation"),
    role=DERIVED,
    stage="dynamics",
    time_column="period",
    customer_ref=NoCustomer("one row per period, no customer rows"),
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
        Column("reason", "string", "The figures that moved, before -> after, for a person to read"),
        Column("figures", "string", "The same as JSON: feature -> value or [before, after]"),
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
    operational_store=True,
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
    operational_store=True,
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
    operational_store=True,
    stage="service",
    customer_ref=NoCustomer("keys of API clients"),
)

CAMPAIGNS = TableSpec(
    "campaigns",
    "Campaign definitions created through the CLI, API or library (the project file declares others).",
    (
        Column("campaign_id", "string", "Campaign id, carried by every message"),
        Column("definition", "string", "The definition as JSON (the project file's keys)"),
        Column("updated_at", "timestamp", "Last change"),
    ),
    key=("campaign_id",),
    role=Role.OPERATIONAL,
    operational_store=True,
    stage="campaigns",
    customer_ref=NoCustomer("definitions, not targets"),
)

CAMPAIGN_TARGETS = TableSpec(
    "campaign_targets",
    "Every reachable target of a campaign with its group (treated or control), drawn once and kept.",
    (
        Column("campaign_id", "string", "Campaign", required=True),
        Column("customer_id", "string", "Customer concerned", required=True, personal=True),
        Column("arm", "string", "treated (sent) or control (held out, never sent)", required=True,
               allowed=("treated", "control")),
        Column("draw", "float", "The keyed draw in [0, 1): control when below the campaign's control share"),
        Column("sent_at", "timestamp", "When the campaign reached (or would have reached) the customer", required=True),
        Column("source_id", "string", "The alert id for a journey, else empty"),
        Column("message_id", "string", "Outbox message of a treated target (its idempotency key)"),
        Column("channel", "string", "Channel of the campaign"),
        Column("offer", "string", "Offer type of the campaign"),
    ),
    key=("campaign_id", "customer_id"),
    role=Role.OPERATIONAL,
    operational_store=True,  # written in the transaction that queues the treated targets' messages
    stage="campaigns",
    time_column="sent_at",
)
