"""The campaign tables, declared here and listed in ``store.registry.REGISTRY`` with every other table
(kept apart only so the registry module stays small)."""

from __future__ import annotations

from segmento.store.schema import Column, NoCustomer, Role, TableSpec

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
