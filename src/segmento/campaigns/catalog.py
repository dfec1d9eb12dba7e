"""Campaign definitions: those of the project file, and those created through the CLI, API or library
(stored in the ``campaigns`` table as the same keys the project file takes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot.expressions as sge
from ibis.backends import BaseBackend
from pydantic import ValidationError

from segmento.activation.campaign_settings import CampaignDefinition
from segmento.activation.holdout import declared_campaigns
from segmento.activation.routing import destination
from segmento.errors import NotFoundError, SegmentoError
from segmento.store.backend import append, delete_where, transaction
from segmento.store.registry import CAMPAIGNS
from segmento.store.tables import table

if TYPE_CHECKING:
    from segmento.config import Project


def parse(data: dict[str, Any] | CampaignDefinition, spell: Callable[[str], str] = str) -> CampaignDefinition:
    """A definition from the project file's keys; errors name the field (as ``spell`` writes it, e.g. a CLI
    option) and what is valid."""
    if isinstance(data, CampaignDefinition):
        return data
    try:
        return CampaignDefinition.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{spell(str(e['loc'][0])) + ': ' if e['loc'] else ''}{e['msg']}" for e in exc.errors())
        raise SegmentoError(f"campaign definition: {problems}") from None


def get(con: BaseBackend, project: Project, campaign_id: str) -> CampaignDefinition:
    """One campaign, or an error listing those that exist."""
    found = declared_campaigns(con, project)
    if campaign_id not in found:
        known = ", ".join(sorted(found)) or "none yet (declare one under campaigns: or create one)"
        raise NotFoundError(f"no campaign {campaign_id!r}; known: {known}")
    return found[campaign_id]


def create(con: BaseBackend, project: Project, data: dict[str, Any] | CampaignDefinition,
           replace: bool = False, spell: Callable[[str], str] = str) -> CampaignDefinition:
    """Store a new campaign (``replace`` a stored one of the same id); the project file's stay there."""
    campaign = parse(data, spell)
    destination(project, campaign.to)
    if any(c.id == campaign.id for c in project.campaigns):
        raise SegmentoError(f"campaign {campaign.id!r} is declared in {project.where('campaigns')}: change it there")
    stored = table(con, CAMPAIGNS.name)
    exists = bool(stored.filter(stored.campaign_id == campaign.id).count().execute())
    if exists and not replace:
        raise SegmentoError(f"campaign {campaign.id!r} exists already; give another id, or replace it")
    row = {"campaign_id": campaign.id, "definition": campaign.model_dump_json(exclude_none=True),
           "updated_at": datetime.now()}
    with transaction(con):
        if exists:
            delete_where(con, CAMPAIGNS.name, sge.column("campaign_id").eq(sge.convert(campaign.id)))
        append(con, CAMPAIGNS.name, pa.Table.from_pylist([row], CAMPAIGNS.schema.to_pyarrow()))
    return campaign


def describe(campaign: CampaignDefinition) -> dict[str, Any]:
    """The definition as JSON-ready data, with its target spelled out."""
    return {**json.loads(campaign.model_dump_json()), "target_kind": campaign.target_kind, "target": campaign.target}
