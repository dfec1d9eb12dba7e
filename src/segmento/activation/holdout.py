"""Control groups: which of a campaign's reachable targets are held out, drawn once and kept.

The draw is a keyed hash of (campaign, customer): HMAC-SHA256 under the first key of the
workspace's secret (the one GDPR pseudonyms start from, kept outside the database), read
as a number in [0, 1). A customer is in the control group when it falls below the
campaign's control share. So the split is reproducible by anyone holding the secret
(auditable), unpredictable without it (no one can steer a customer into a group), and
independent between campaigns. Consent is checked before the draw, so both groups are
equally reachable; every target is recorded with its group in ``campaign_targets`` and a
control target is never sent. A customer drawn once keeps her group for that campaign.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.activation.campaign_settings import CampaignDefinition
from segmento.store import pseudonyms
from segmento.store.backend import append
from segmento.store.consents import consenting
from segmento.store.registry import CAMPAIGN_TARGETS, CAMPAIGNS
from segmento.store.tables import table

if TYPE_CHECKING:
    from segmento.config import Project

TREATED, CONTROL = "treated", "control"
TARGETS = CAMPAIGN_TARGETS.name


def draw(key: str, campaign_id: str, customer_id: str) -> float:
    """The customer's keyed draw for this campaign, uniform in [0, 1)."""
    digest = hmac.new(key.encode(), f"{campaign_id}\x1f{customer_id}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def campaign_key(con: BaseBackend, project: Project) -> str:
    """The secret the draws are keyed with: the first key of the GDPR chain (rotation does not move draws)."""
    path = pseudonyms.default_key_file(con, project.gdpr.key_file, project.database)
    return pseudonyms.load(con, path).keys[0]


def declared_campaigns(con: BaseBackend, project: Project) -> dict[str, CampaignDefinition]:
    """Campaigns of the project file and those created through the CLI, API or library (the file wins)."""
    stored = table(con, CAMPAIGNS.name).select("definition").to_pyarrow().column(0).to_pylist()
    found = {c.id: c for c in (CampaignDefinition.model_validate(json.loads(text)) for text in stored)}
    return found | {c.id: c for c in project.campaigns}


@dataclass(frozen=True)
class Draw:
    """The group of each target; ``new`` are those drawn now (the others keep their recorded group)."""

    arms: dict[str, str]
    draws: dict[str, float]
    new: list[str]

    def of(self, arm: str, only_new: bool = False) -> list[str]:
        return [c for c in (self.new if only_new else self.arms) if self.arms[c] == arm]


def split(con: BaseBackend, campaign: CampaignDefinition, key: str, customer_ids: Iterable[str]) -> Draw:
    """The group of each target of ``campaign``: as recorded when drawn before, else drawn now."""
    ids = sorted(set(customer_ids))
    targets = table(con, TARGETS)
    known = targets.filter((targets.campaign_id == campaign.id) & targets.customer_id.isin(ids))
    arms = {r["customer_id"]: r["arm"] for r in known.select("customer_id", "arm").to_pyarrow().to_pylist()}
    new = [c for c in ids if c not in arms]
    draws = {c: draw(key, campaign.id, c) for c in new}
    arms |= {c: CONTROL if draws[c] < campaign.control_share else TREATED for c in new}
    return Draw(arms, draws, new)


def journey_split(con: BaseBackend, campaign: CampaignDefinition, key: str, channel: str | None, purpose: str,
                  records: dict[str, tuple[str, datetime]], message_ids: dict[str, str]) -> tuple[set[str], set[str]]:
    """For alerts routed to a campaign's journey (record key -> customer, instant): draw the reachable
    customers' groups, record them, and return the record keys to send (treated) and to hold (control)."""
    by_instant: dict[datetime, list[str]] = {}
    for customer, at in records.values():
        by_instant.setdefault(at, []).append(customer)
    able: set[tuple[str, datetime]] = set()
    for at, customers in by_instant.items():
        if channel is None:
            able |= {(c, at) for c in customers}
            continue
        allowed = consenting(con, channel, at, purpose)
        allowed = allowed.filter(allowed.customer_id.isin(sorted(set(customers))))
        able |= {(c, at) for c in allowed.customer_id.to_pyarrow().to_pylist()}
    reachable_keys = {k: v for k, v in records.items() if v in able}
    result = split(con, campaign, key, (c for c, _ in reachable_keys.values()))
    first = {}
    for record_key, (customer, at) in sorted(reachable_keys.items(), key=lambda kv: kv[1][1]):
        first.setdefault(customer, (record_key, at))
    write(con, campaign, channel, result,
          [(c, first[c][1], message_ids.get(first[c][0]), first[c][0]) for c in result.new])
    send = {k for k, (c, _) in reachable_keys.items() if result.arms[c] == TREATED}
    return send, set(reachable_keys) - send


def reachable(con: BaseBackend, channel: str | None, purpose: str, members: ibis.Table, at: datetime) -> ibis.Table:
    """Members who consent to the campaign's channel at ``at`` (all of them without a channel)."""
    if channel is None:
        return members
    return members.semi_join(consenting(con, channel, at, purpose), "customer_id")


def write(con: BaseBackend, campaign: CampaignDefinition, channel: str | None, result: Draw,
          targets: list[tuple[str, datetime, str | None, str]]) -> None:
    """Record newly drawn targets (customer, sent at, message id, source id) with their group, inside
    the transaction that queues their messages."""
    rows = [
        {"campaign_id": campaign.id, "customer_id": c, "arm": result.arms[c], "draw": result.draws[c], "sent_at": at,
         "source_id": source, "message_id": message, "channel": channel, "offer": campaign.offer}
        for c, at, message, source in targets
    ]
    if rows:
        table(con, TARGETS)
        append(con, TARGETS, pa.Table.from_pylist(rows, CAMPAIGN_TARGETS.schema.to_pyarrow()))
