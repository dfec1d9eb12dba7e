"""Launching a campaign on an audience or a segment: members at the launch instant, consent first,
then the control group drawn and held out, the rest queued to the campaign's destination.

Everything is written in one transaction: the targets with their group, and one outbox
message per treated target (source ``campaign``, id ``<campaign>:<customer>``), so a
launch is all-or-nothing and launching again only adds members not drawn yet. Journeys
(campaigns on a trajectory alert rule) are launched by the alerts themselves, see
``activation.routing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import ibis
from ibis.backends import BaseBackend

from segmento.activation.campaign_settings import CampaignDefinition
from segmento.activation.holdout import CONTROL, TREATED, reachable, split, write
from segmento.activation.outbox import enqueue, new_message, to_json
from segmento.activation.routing import customer_context, destination
from segmento.errors import SegmentoError
from segmento.store.backend import transaction

if TYPE_CHECKING:
    from segmento.config import Project

SOURCE = "campaign"


@dataclass(frozen=True)
class LaunchReport:
    """What one launch did: members = unreachable + drawn before + treated + control."""

    campaign_id: str
    at: datetime
    members: int
    unreachable: int  # no consent to the campaign's channel at launch
    drawn_before: int
    treated: int
    control: int
    queued: int

    def __str__(self) -> str:
        return (f"{self.campaign_id} at {self.at:%Y-%m-%d %H:%M}: {self.members:,} members, "
                f"{self.unreachable:,} without consent, {self.drawn_before:,} drawn before; "
                f"{self.treated:,} treated ({self.queued:,} messages queued), {self.control:,} held out as control")


def launch_instant(campaign: CampaignDefinition, at: date | datetime | None) -> datetime:
    """The launch instant: ``at``, or now (a date means its start); it must fall within the campaign's dates."""
    if at is None:
        at = datetime.now()
    elif not isinstance(at, datetime):
        at = datetime.combine(at, time())
    if at.date() < campaign.start or (campaign.end is not None and at.date() > campaign.end):
        span = f"{campaign.start} to {campaign.end}" if campaign.end else f"from {campaign.start}"
        raise SegmentoError(f"campaign {campaign.id} runs {span}; launch it at a date within (not {at.date()})")
    return at


def launch(con: BaseBackend, project: Project, campaign: CampaignDefinition, key: str, members: ibis.Table,
           at: datetime) -> LaunchReport:
    """Draw the groups of ``members`` (customer_id) who can be reached, record them, queue the treated."""
    if campaign.alert is not None:
        raise SegmentoError(f"campaign {campaign.id} follows alerts of {campaign.alert!r}: it is sent as the alerts "
                            "are raised (segmento snapshot / deliver), not launched")
    config = destination(project, campaign.to)
    channel = campaign.channel or config.channel
    members = members.select("customer_id").distinct()
    total = int(members.count().execute())
    ids = reachable(con, channel, config.purpose, members, at).customer_id.to_pyarrow().to_pylist()
    with transaction(con):
        result = split(con, campaign, key, ids)
        treated = result.of(TREATED, only_new=True)
        messages = _messages(con, campaign, channel, config.name, treated, at)
        queued = enqueue(con, messages)
        ids_of = {m["customer_id"]: m["message_id"] for m in messages}
        write(con, campaign, channel, result, [(c, at, ids_of.get(c), "") for c in result.new])
    return LaunchReport(campaign.id, at, total, total - len(ids), len(ids) - len(result.new), len(treated),
                        len(result.of(CONTROL, only_new=True)), queued)


def _messages(con: BaseBackend, campaign: CampaignDefinition, channel: str | None, to: str, customers: list[str],
              at: datetime) -> list[dict]:
    """One outbox message per treated customer, with her segments as of the launch."""
    keys = [(f"{campaign.id}:{c}", c, at) for c in customers]
    segments, _ = customer_context(con, keys, []) if keys else ({}, {})
    about = {"name": campaign.name or campaign.id, "channel": channel, "offer": campaign.offer}
    messages = []
    for source_id, customer, _ in keys:
        body = to_json({
            "type": SOURCE, "campaign_id": campaign.id, "campaign": about,
            "journey": campaign.journey or campaign.id, "customer_id": customer, "occurred_at": at,
            "segments": segments.get(source_id, {}),
        })
        messages.append(new_message(to, SOURCE, source_id, f"campaign-{campaign.id}", customer, 0.0, body))
    return messages
