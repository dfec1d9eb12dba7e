"""The dashboard's Predictive page: the model in use, its holdout validation, expected value per segment."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from segmento.service.auth import service_of
from segmento.service.dashboard import Control, Loose, Viewer, _date, page, section

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("/predictive")
def predictive_page(request: Request, key: Viewer, as_of: Loose = None) -> HTMLResponse:
    """Probability alive, expected orders and lifetime value: is the model right? what is each segment worth?"""
    service = service_of(request)
    notes: list[str] = []
    when = _date(as_of, "as of", notes)
    with service.reader() as ws:
        found = [section(service, ws, "predictive", when)]
    controls = [Control("as_of", "model fitted by (default: the latest)", str(when or ""), kind="date")]
    return page(request, "Predictive", found, controls, notes)
