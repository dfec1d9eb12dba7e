"""Segmentations and their dynamics: definition, sizes, members, portraits, snapshots,
transition matrices, trajectories, the Markov view; and trajectory alerts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

import ibis

from segmento.dynamics.forecast import forecast_interval
from segmento.dynamics.freshness import incomplete_periods
from segmento.dynamics.periods import period_end
from segmento.dynamics.store import period_of
from segmento.report import views
from segmento.segmentations import load_model, versions
from segmento.service.auth import DENIED, Reader, service_of
from segmento.service.runtime import Service
from segmento.service.http import not_found, respond, unprocessable
from segmento.service.inputs import PRINTABLE
from segmento.service.schemas import (
    QualityOut,
    AlertPage,
    MarkovOut,
    Page,
    PortraitOut,
    SegmentationDetail,
    SegmentationOut,
    SnapshotsOut,
    TrajectoriesOut,
    TransitionsOut,
)
from segmento.workspace import Workspace

router = APIRouter(prefix="/api", tags=["segmentations and dynamics"], dependencies=[Reader], responses=DENIED)
Name = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
SNAPSHOT_TABLES = ("segment_snapshots", "orders")  # what matrices, paths and the Markov view read
NOT_FOUND = {404: {"description": "no such segmentation"}, 422: {"description": "no snapshot at that period"}}


def _known(ws: Workspace, name: str) -> None:
    known = views.fitted_segmentations(ws)
    if name not in known:
        raise not_found(f"no segmentation {name!r}; segmentations: {', '.join(known) or 'none'}")


def _period(ws: Workspace, name: str, wanted: date | None) -> date:
    """A taken period (the latest by default), or a 422 listing the taken ones."""
    periods = ws.periods(name)
    if not periods:
        raise unprocessable(f"no snapshot of {name!r} yet: run `segmento backfill` or `segmento snapshot`")
    if wanted is None:
        return periods[-1]
    end = period_end(wanted, ws.project.dynamics.grid)
    if end not in periods:
        raise unprocessable(f"no snapshot of {name!r} at {end}; taken: {', '.join(map(str, periods))}")
    return end


def _summary(ws: Workspace, name: str, detail: bool = False) -> dict[str, Any]:
    fitted = versions(ws.con, name)
    model = load_model(ws.con, name) if fitted else None
    periods = ws.periods(name)
    out: dict[str, Any] = {
        "name": name,
        "kind": model.kind if model else None,
        "version": model.version if model else None,
        "as_of": model.as_of if model else None,
        "segments": [{"segment_id": s.id, "label": s.label, "rank": s.rank, "description": s.description}
                     for s in model.segments] if model else [],
        "periods": len(periods),
        "latest_period": periods[-1] if periods else None,
    }
    if detail:
        out |= {"versions": fitted, "definition": model.definition if model else None,
                "match": model.match if model else None}
    return out


@router.get("/segmentations", response_model=list[SegmentationOut])
def list_segmentations(request: Request) -> Response:
    with service_of(request).reader() as ws:
        return respond([_summary(ws, name) for name in views.fitted_segmentations(ws)])


@router.get("/segmentations/{name}", response_model=SegmentationDetail, responses=NOT_FOUND)
def segmentation(name: Name, request: Request) -> Response:
    """The frozen model: definition, versions, segments, how its ids match the previous version."""
    with service_of(request).reader() as ws:
        _known(ws, name)
        return respond(_summary(ws, name, detail=True))


@router.get("/segmentations/{name}/snapshots", response_model=SnapshotsOut, responses=NOT_FOUND)
def snapshots(name: Name, request: Request) -> Response:
    """Segment sizes at every snapshot period: the segment mix over time; periods whose feature windows
    reach before the loaded history are flagged (complete: false, with a note) and raised no alert."""
    with service_of(request).reader() as ws:
        _known(ws, name)
        sizes = views.segment_sizes(ws, name)
        flagged = incomplete_periods(ws.con, name)
    periods = [
        {"period": period, "sizes": rows.drop(columns="period").to_dict("records"),
         "complete": period not in flagged, "note": flagged.get(period, "")}
        for period, rows in sizes.groupby("period", sort=True)
    ]
    return respond({"segmentation": name, "periods": periods})


@router.get("/segmentations/{name}/members", response_model=Page, responses=NOT_FOUND)
def members(
    name: Name,
    request: Request,
    period: Annotated[date | None, Query(description="snapshot period (default: the latest)")] = None,
    segment: Annotated[str | None, Query(max_length=100, pattern=PRINTABLE, description="only this segment id")] = None,
    page: PageNo = 1,
    size: PageSize = 100,
) -> Response:
    """Customers with their segment at one snapshot period, sorted by id, one page at a time."""
    with service_of(request).reader() as ws:
        _known(ws, name)
        when = _period(ws, name, period)
        rows = period_of(ws.con, name, when)
        if segment is not None:
            rows = rows.filter(rows.segment_id == segment)
        rows = rows.select("customer_id", "segment_id", label="segment_label", rank="segment_rank", value="value")
        total, items = views.page(rows.order_by("customer_id"), (page - 1) * size, size)
    return respond({"total": total, "page": page, "size": size, "items": items})


def _fitted_as_of(ws: Workspace, service: Service, name: str, as_of: date | None) -> date:
    """The date a fitted segmentation is described as of: ``as_of``, else its latest snapshot period."""
    _known(ws, name)
    if not versions(ws.con, name):
        raise not_found(f"segmentation {name!r} has snapshots but no fitted model")
    periods = ws.periods(name)
    return as_of or (periods[-1] if periods else service.clock().date())


@router.get("/segmentations/{name}/portraits", response_model=list[PortraitOut], responses=NOT_FOUND)
def portraits(
    name: Name,
    request: Request,
    as_of: Annotated[date | None, Query(description="default: the latest snapshot period")] = None,
) -> Response:
    """Each segment described: size, value, what they buy, preferred channel, reach, reactivity."""
    service = service_of(request)
    with service.reader() as ws:
        when = _fitted_as_of(ws, service, name, as_of)
        found = service.cached(("portraits", name, when), lambda: ws.portraits(name, when))
    return respond([p.to_dict() for p in found])


@router.get("/segmentations/{name}/quality", response_model=QualityOut, responses=NOT_FOUND)
def quality(
    name: Name,
    request: Request,
    as_of: Annotated[date | None, Query(description="default: the latest snapshot period")] = None,
) -> Response:
    """Homogeneity and separation per segment and feature, silhouette, predictive power and warnings."""
    service = service_of(request)
    with service.reader() as ws:
        when = _fitted_as_of(ws, service, name, as_of)
        report = service.cached(("quality", name, when), lambda: ws.quality(name, when, bootstraps=0))
    body = report.to_dict()
    body["per_feature"] = report.per_feature().replace({float("nan"): None}).to_dict("records")
    return respond(body)


@router.get("/segmentations/{name}/transitions", response_model=TransitionsOut, responses=NOT_FOUND)
def transitions(
    name: Name,
    request: Request,
    from_period: Annotated[date | None, Query(alias="from", description="default: the period before `to`")] = None,
    to_period: Annotated[date | None, Query(alias="to", description="default: the latest period")] = None,
) -> Response:
    """Who moved from which segment to which between two snapshots, with next-period revenue."""
    service = service_of(request)
    with service.reader() as ws:
        _known(ws, name)
        end = _period(ws, name, to_period)
        periods = ws.periods(name)
        if from_period is None:
            if periods.index(end) == 0:
                raise unprocessable(f"{end} is the first snapshot of {name!r}: give `from` and `to`")
            start = periods[periods.index(end) - 1]
        else:
            start = _period(ws, name, from_period)
        matrix = service.cached(("transitions", name, start, end), lambda: ws.transitions(name, start, end),
                                SNAPSHOT_TABLES)
    return respond(matrix.to_dict())


@router.get("/segmentations/{name}/trajectories", response_model=TrajectoriesOut, responses=NOT_FOUND)
def trajectories(
    name: Name,
    request: Request,
    last: Annotated[int, Query(ge=2, le=60, description="most recent periods")] = 6,
    top: Annotated[int, Query(ge=1, le=100, description="most frequent paths")] = 15,
) -> Response:
    """The most frequent paths through the segments, and a Sankey of the flows."""
    service = service_of(request)
    with service.reader() as ws:
        _known(ws, name)
        _period(ws, name, None)
        found = service.cached(("trajectories", name, last), lambda: ws.trajectories(name, last=last),
                               SNAPSHOT_TABLES)
    return respond({"segmentation": name, "periods": found.periods,
                    "top_paths": found.top_paths(top).to_dict("records"), "sankey": found.sankey()})


@router.get("/segmentations/{name}/markov", response_model=MarkovOut, responses=NOT_FOUND)
def markov(
    name: Name,
    request: Request,
    steps: Annotated[int, Query(ge=0, le=60, description="periods to forecast")] = 6,
    horizon: Annotated[int, Query(ge=1, le=240, description="periods of expected value")] = 12,
) -> Response:
    """Average transition matrix, segment-mix forecast, long-run mix and expected value per segment."""
    service = service_of(request)
    with service.reader() as ws:
        _known(ws, name)
        if len(ws.periods(name)) < 2:
            raise unprocessable(f"the Markov view of {name!r} needs two snapshots at least")
        model = service.cached(("markov", name), lambda: ws.markov(name), SNAPSHOT_TABLES)
        rate = ws.project.dynamics.discount_rate
    return respond({
        "segmentation": name, "periods": model.periods, "states": model.states, "matrix": model.P.tolist(),
        "forecast": model.forecast(steps).to_dict("records"), "stationary": model.stationary().to_dict(),
        "forecast_with_inflow": model.forecast_with_inflow(steps).to_dict("records"),
        "interval": forecast_interval(model, steps).to_dict("records"),
        "expected_value": model.expected_value(horizon, rate).to_dict(),
    })


@router.get("/alerts", response_model=AlertPage, tags=["alerts"])
def alerts(
    request: Request,
    period: Annotated[date | None, Query(description="period end (any day of the period)")] = None,
    kind: Literal["negative", "positive", "high_stakes"] | None = None,
    rule: Annotated[str | None, Query(max_length=100, pattern=PRINTABLE)] = None,
    segmentation: Annotated[str | None, Query(max_length=100, pattern=PRINTABLE)] = None,
    min_priority: Annotated[float | None, Query(ge=0, le=1e12, description="least value at stake")] = None,
    page: PageNo = 1,
    size: PageSize = 100,
) -> Response:
    """Trajectory alerts, latest period first then highest value at stake, each with its reason
    (the figures that moved, before -> after); totals per period, kind and rule."""
    with service_of(request).reader() as ws:
        when = period_end(period, ws.project.dynamics.grid) if period else None
        table = ws.alerts(period=when, kind=kind, rule=rule, min_priority=min_priority)
        if segmentation is not None:
            table = table.filter(table.segmentation == segmentation).order_by(
                [ibis.desc("period"), ibis.desc("priority"), "alert_id"])
        total, items = views.page(table, (page - 1) * size, size)
        totals = table.group_by(["period", "kind", "rule"]).agg(
            alerts=ibis._.count(), value_at_stake=ibis._.priority.sum()).order_by([ibis.desc("period"), "kind", "rule"])
        totals = totals.to_pyarrow().to_pylist()
    return respond({"total": total, "page": page, "size": size, "items": items, "totals": totals})
