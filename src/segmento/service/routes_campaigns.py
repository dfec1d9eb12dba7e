"""Campaigns: definitions, launch (control group held out) and results by segment."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from segmento.activation.campaign_settings import CampaignDefinition
from segmento.campaigns.catalog import describe
from segmento.errors import NotFoundError, SegmentoError
from segmento.service.auth import BAD_BODY, DENIED, Reader, Writer, service_of
from segmento.service.http import not_found, respond, unprocessable
from segmento.workspace import Workspace

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"], responses=DENIED)
CampaignId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")]
NOT_FOUND = {404: {"description": "no such campaign"}, 422: {"description": "refused, with the reason"}}


def _counts(ws: Workspace) -> dict[str, dict[str, int]]:
    rows = ws.campaigns.targets().group_by(["campaign_id", "arm"]).agg(n=lambda t: t.count()).to_pyarrow()
    counts: dict[str, dict[str, int]] = {}
    for row in rows.to_pylist():
        counts.setdefault(row["campaign_id"], {"treated": 0, "control": 0})[row["arm"]] = row["n"]
    return counts


def _out(campaign: CampaignDefinition, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {**describe(campaign), "drawn": counts.get(campaign.id, {"treated": 0, "control": 0})}


def _refused(exc: SegmentoError) -> Exception:
    return not_found(str(exc)) if isinstance(exc, NotFoundError) else unprocessable(str(exc))


@router.get("", dependencies=[Reader])
def list_campaigns(request: Request) -> Response:
    """Every campaign (project file and stored) with how many targets were drawn into each group."""
    with service_of(request).reader() as ws:
        counts = _counts(ws)
        return respond([_out(c, counts) for c in ws.campaigns.list()])


@router.post("", dependencies=[Writer], status_code=201, responses={**NOT_FOUND, **BAD_BODY})
def create_campaign(campaign: CampaignDefinition, request: Request) -> Response:
    """Store a campaign (same keys as the project file's ``campaigns:``)."""
    with service_of(request).writer() as ws:
        try:
            created = ws.campaigns.create(campaign)
        except SegmentoError as exc:
            raise _refused(exc) from None
        return respond(_out(created, {}), status=201)


@router.get("/{campaign_id}", dependencies=[Reader], responses=NOT_FOUND)
def get_campaign(campaign_id: CampaignId, request: Request) -> Response:
    with service_of(request).reader() as ws:
        try:
            return respond(_out(ws.campaigns.get(campaign_id), _counts(ws)))
        except SegmentoError as exc:
            raise _refused(exc) from None


@router.post("/{campaign_id}/launch", dependencies=[Writer], responses=NOT_FOUND)
def launch_campaign(campaign_id: CampaignId, request: Request,
                    at: Annotated[date | None, Query(description="launch date for a replay (default: now)")] = None
                    ) -> Response:
    """Draw the control group among reachable members, record both groups, queue the treated."""
    with service_of(request).writer() as ws:
        try:
            report = ws.campaigns.launch(campaign_id, at)
        except SegmentoError as exc:
            raise _refused(exc) from None
        return respond(vars(report))


@router.get("/{campaign_id}/results", dependencies=[Reader], responses=NOT_FOUND)
def campaign_results(
    campaign_id: CampaignId, request: Request,
    segmentation: Annotated[str | None, Query(max_length=63, description="per segment at the send")] = None,
    level: Annotated[float, Query(ge=0.5, lt=1.0, description="confidence level of the intervals")] = 0.95,
) -> Response:
    """Treated vs control in total and per segment: customers, reach, opens, clicks, responses, conversion
    within the attribution window, revenue per customer, and each uplift (difference and ratio) with its
    interval and verdict ('not significant' when the interval holds zero)."""
    with service_of(request).reader() as ws:
        try:
            found = ws.campaigns.results(campaign_id, segmentation, level)
        except SegmentoError as exc:
            raise _refused(exc) from None
        return respond(found.to_dict())


@router.get("/{campaign_id}/moves", dependencies=[Reader], responses=NOT_FOUND)
def journey_moves(campaign_id: CampaignId, request: Request,
                  after: Annotated[int, Query(ge=1, le=24, description="snapshot periods after the alert")] = 1,
                  ) -> Response:
    """A journey's treated vs control customers: transition probabilities out of the alert's segment and the
    uplift of the share who moved back up."""
    with service_of(request).reader() as ws:
        try:
            found = ws.campaigns.journey_moves(campaign_id, after)
        except SegmentoError as exc:
            raise _refused(exc) from None
        return respond({"campaign_id": found.campaign_id, "segmentation": found.segmentation, "after": after,
                        "probabilities": found.probabilities.to_dict("index"), "counts": found.counts.to_dict("index"),
                        "moved_up": {**vars(found.moved_up), "verdict": found.moved_up.verdict}})
