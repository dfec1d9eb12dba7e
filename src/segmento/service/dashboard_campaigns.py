"""The dashboard's Campaigns page: which campaigns worked for which segment, against their control group."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from segmento.report.campaigns import campaigns
from segmento.report.views import fitted_segmentations
from segmento.service.auth import service_of
from segmento.service.dashboard import Control, Loose, Viewer, page

router = APIRouter(prefix="/dashboard", include_in_schema=False)
READS = ("campaign_targets", "orders", "events", "segment_snapshots", "activation_outbox")


@router.get("/campaigns")
def campaigns_page(request: Request, key: Viewer, segmentation: Loose = None) -> HTMLResponse:
    """Uplift per campaign and segment: treated vs control, with intervals and plain verdicts."""
    service = service_of(request)
    notes: list[str] = []
    with service.reader() as ws:
        names = [n for n in fitted_segmentations(ws) if ws.periods(n)]
        if segmentation and segmentation not in names:
            notes.append(f"No snapshot of {segmentation!r}; showing the first segmentation with one.")
            segmentation = None
        found = [campaigns(ws, segmentation)]
    controls = [Control("segmentation", "by segment of", segmentation or (names[0] if names else ""), names)]
    return page(request, "Campaigns", found, controls, notes)
