"""The library's campaign verbs, as ``Workspace.campaigns``: declare, launch, read targets and results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import ibis
from ibis.backends import BaseBackend

from segmento.activation.campaign_settings import CampaignDefinition
from segmento.activation.holdout import TARGETS, declared_campaigns
from segmento.campaigns import catalog
from segmento.campaigns.results import CampaignResults, campaign_results
from segmento.campaigns.journeys import JourneyMoves, journey_moves
from segmento.campaigns.launch import LaunchReport, launch, launch_instant
from segmento.config import Project
from segmento.errors import NotFoundError
from segmento.store.tables import table


class Campaigns:
    """Campaigns of one workspace. ``key`` gives the secret the control-group draws are keyed with;
    ``audiences`` the workspace's audiences (for campaigns on an audience)."""

    def __init__(self, con: BaseBackend, project: Project, key: Callable[[], str], audiences: Callable[[], Any]) -> None:
        self.con, self.project = con, project
        self._key, self._audiences = key, audiences

    def list(self) -> list[CampaignDefinition]:
        """Every campaign, project file's and stored, by start date."""
        return sorted(declared_campaigns(self.con, self.project).values(), key=lambda c: (c.start, c.id))

    def get(self, campaign_id: str) -> CampaignDefinition:
        return catalog.get(self.con, self.project, campaign_id)

    def create(self, definition: dict[str, Any] | CampaignDefinition, replace: bool = False,
               spell: Callable[[str], str] = str) -> CampaignDefinition:
        """Store a campaign (the project file's keys: id, name, channel, offer, start, end, audience /
        segment / alert, journey, to, control_share, attribution_days); ``spell`` names fields in errors."""
        return catalog.create(self.con, self.project, definition, replace, spell)

    def members(self, campaign: CampaignDefinition, at: datetime) -> ibis.Table:
        """Who the campaign targets at ``at`` (audience members, or a segment's members by the frozen model)."""
        if campaign.audience is not None:
            return self._audiences().members(campaign.audience, at)
        from segmento import segmentations

        target = campaign.segment
        model = segmentations.load_model(self.con, target.segmentation)
        ids = [s.id for s in model.segments if target.segment in (s.id, s.label)]
        if not ids:
            valid = ", ".join(f"{s.id} ({s.label})" for s in model.segments)
            raise NotFoundError(f"campaign {campaign.id}: segmentation {target.segmentation} has no segment "
                                f"{target.segment!r}; valid: {valid}")
        found = segmentations.segments(self.con, target.segmentation, at.date(), project=self.project)
        return found.filter(found.segment_id == ids[0]).select("customer_id")

    def launch(self, campaign_id: str, at: date | datetime | None = None) -> LaunchReport:
        """Send the campaign now (or at ``at``, for a replay): consent first, control group held out."""
        campaign = self.get(campaign_id)
        when = launch_instant(campaign, at)
        return launch(self.con, self.project, campaign, self._key(), self.members(campaign, when), when)

    def results(self, campaign_id: str, segmentation: str | None = None, level: float = 0.95,
                groups: ibis.Table | None = None, resamples: int = 2000) -> CampaignResults:
        """Treated vs control in total and per segment of ``segmentation`` at the send (or of ``groups``:
        customer_id, segment): reach, opens, clicks, responses, conversion, revenue, uplifts with intervals."""
        return campaign_results(self.con, self.get(campaign_id), segmentation, level, resamples, groups=groups)

    def journey_moves(self, campaign_id: str, after: int = 1, level: float = 0.95) -> JourneyMoves:
        """For a journey (a campaign on an alert rule): transition probabilities of treated vs control customers
        from the alert's period to ``after`` periods on, and the uplift of the share who moved back up."""
        return journey_moves(self.con, self.get(campaign_id), after, level)

    def targets(self, campaign_id: str | None = None) -> ibis.Table:
        """Drawn targets with their group (treated or control), draw and message id."""
        targets = table(self.con, TARGETS)
        if campaign_id is not None:
            self.get(campaign_id)
            targets = targets.filter(targets.campaign_id == campaign_id)
        return targets
