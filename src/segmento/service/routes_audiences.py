"""Audiences: definitions, sizes and overlaps, members page by page, portraits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from segmento.report import views
from segmento.service.auth import DENIED, Reader, service_of
from segmento.service.http import not_found, respond
from segmento.service.runtime import instant
from segmento.service.inputs import PRINTABLE
from segmento.service.schemas import AudienceDetail, AudienceOut, ChangePage, GuidanceOut, Page, PortraitOut
from segmento.workspace import Workspace

router = APIRouter(prefix="/api/audiences", tags=["audiences"], dependencies=[Reader],
                   responses=DENIED)
Name = Annotated[str, Path(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
MEMBERSHIP = ("audience_changes", "audiences", "customers")  # what recorded sizes depend on
NOT_FOUND = {404: {"description": "no such audience"}}


def _audience(ws: Workspace, name: str) -> Any:
    found = {a.name: a for a in ws.audiences.list()}
    if name not in found:
        raise not_found(f"no audience {name!r}; audiences: {', '.join(found) or 'none'}")
    return found[name]


def _out(audience: Any, size: int) -> dict[str, Any]:
    return {"name": audience.name, "rule": audience.rule, "description": audience.description,
            "owner": audience.owner, "tags": list(audience.tags), "where": audience.where, "size": size}


def _guidance(request: Request) -> Any:
    service = service_of(request)
    with service.reader() as ws:
        return service.cached(("guidance",), lambda: views.recorded_guidance(ws), MEMBERSHIP)


@router.get("", response_model=list[AudienceOut])
def list_audiences(request: Request) -> Response:
    """Every audience (project file, then library) with its recorded size."""
    sizes = _guidance(request).sizes
    with service_of(request).reader() as ws:
        return respond([_out(a, sizes.get(a.name, 0)) for a in ws.audiences.list()])


@router.get("/guidance", response_model=GuidanceOut)
def guidance(request: Request) -> Response:
    """Sizes, overlaps (shared members) and granularity warnings: empty, tiny, broad, near duplicates."""
    found = _guidance(request)
    overlaps = found.overlaps
    return respond({
        "as_of": found.as_of, "base": found.base, "sizes": found.sizes,
        "overlaps": {"rows": list(overlaps.index), "columns": list(overlaps.columns),
                     "counts": overlaps.to_numpy().tolist()},
        "warnings": [vars(w) for w in found.warnings],
    })


@router.get("/{name}", response_model=AudienceDetail, responses=NOT_FOUND)
def audience(name: Name, request: Request) -> Response:
    found = _guidance(request)
    with service_of(request).reader() as ws:
        detail = _out(_audience(ws, name), found.sizes.get(name, 0))
    return respond({**detail, "warnings": [vars(w) for w in found.warnings if w.audience == name]})


@router.get("/{name}/members", response_model=Page, responses=NOT_FOUND)
def members(
    name: Name,
    request: Request,
    page: PageNo = 1,
    size: PageSize = 100,
    as_of: Annotated[date | None, Query(description="evaluate the rule at this date instead of reading the recorded membership")] = None,
) -> Response:
    """Member customer ids, sorted, one page at a time."""
    with service_of(request).reader() as ws:
        _audience(ws, name)
        stage = ws.audiences
        if as_of is None:
            current = stage.current()
            table = current.filter(current.audience == name).select("customer_id")
        else:
            table = stage.members(name, instant(as_of))
        total, items = views.page(table.order_by("customer_id"), (page - 1) * size, size)
    return respond({"total": total, "page": page, "size": size, "items": items})


@router.get("/{name}/changes", response_model=ChangePage, responses=NOT_FOUND)
def changes(
    name: Name,
    request: Request,
    page: PageNo = 1,
    size: PageSize = 100,
    customer_id: Annotated[str | None, Query(max_length=100, pattern=PRINTABLE)] = None,
) -> Response:
    """Enter/exit history, latest first, each with ``why``: the clause that changed ("age 40 -> 41")."""
    with service_of(request).reader() as ws:
        _audience(ws, name)
        table = ws.table("audience_changes")
        table = table.filter(table.audience == name)
        if customer_id is not None:
            table = table.filter(table.customer_id == customer_id)
        table = table.order_by([table.seq.desc()]).drop("recorded_at")
        total, items = views.page(table, (page - 1) * size, size)
    return respond({"total": total, "page": page, "size": size, "items": items})


@router.get("/{name}/portraits", response_model=list[PortraitOut], responses=NOT_FOUND)
def portraits(
    name: Name,
    request: Request,
    as_of: Annotated[date | None, Query(description="default: the service's today")] = None,
) -> Response:
    """Who the members are against the rest of the base: what they buy, where, how to reach them."""
    service = service_of(request)
    at: datetime = instant(as_of) if as_of else service.clock()
    with service.reader() as ws:
        _audience(ws, name)
        found = service.cached(("audience-portraits", name, at), lambda: views.audience_portraits(ws, name, at))
    return respond([p.to_dict() for p in found])
