"""The web dashboard: server-rendered pages with Plotly charts, served by the API's app.

No build step: Jinja templates, the Plotly bundle shipped with the plotly package, one
stylesheet. A page needs a read key like the API; opening any page with ``?key=...``
stores it in an HttpOnly cookie and drops it from the address bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from segmento.dynamics.periods import period_end
from segmento.report import charts, sections, sections_activity, views
from segmento.report.campaigns import with_campaigns
from segmento.report.headline import data_as_of, headline_section, stamp
from segmento.report.predictive import predictive
from segmento.report.render import STATIC, render
from segmento.service.auth import COOKIE, cookie_key, header_key, service_of
from segmento.service.keys import ApiKey
from segmento.service.inputs import PRINTABLE
from segmento.workspace import Workspace

router = APIRouter(prefix="/dashboard", include_in_schema=False)
NAV = (
    ("/dashboard/", "Overview"),
    ("/dashboard/transitions", "Transitions"),
    ("/dashboard/trajectories", "Trajectories"),
    ("/dashboard/portraits", "Portraits"),
    ("/dashboard/predictive", "Predictive"),
    ("/dashboard/audiences", "Audiences"),
    ("/dashboard/alerts", "Alerts"),
    ("/dashboard/customers", "Customer lookup"),
    ("/dashboard/campaigns", "Campaigns"),
)
STATIC_FILES = {"plotly.min.js": charts.PLOTLY_JS, "style.css": STATIC / "style.css"}
CUSTOMER_LINK = "/dashboard/customers?id={}"
SEGMENT_TABLES = ("segment_snapshots", "segmentation_models")
NO_FILTER = (("kind", None), ("period", None), ("rule", None), ("min_priority", None))
SOURCES = ("orders", "customers", "events", "consents", "ingestions")
SECTIONS: dict[str, tuple[Any, tuple[str, ...] | None]] = {  # page part -> (builder(ws, *args), tables it reads)
    "stamp": (stamp, ("segment_snapshots", *SOURCES)),
    "headline": (headline_section, SEGMENT_TABLES + ("alerts", *SOURCES)),
    "mix": (sections.mix, SEGMENT_TABLES + ("orders", "snapshot_periods")),
    "transitions": (sections.transitions, SEGMENT_TABLES + ("orders",)),
    "trajectories": (sections.trajectories, SEGMENT_TABLES),
    "markov": (sections.markov, SEGMENT_TABLES),
    "portraits": (lambda ws, name, when: with_campaigns(ws, sections.portraits(ws, name, when), name),
                  None),  # features: every table; then which campaigns worked for each segment
    "quality": (sections.quality, None),
    "audiences": (sections_activity.audiences, ("audience_changes", "audiences", "customers")),
    "audience-names": (lambda ws: [a.name for a in ws.audiences.list()], ("audiences",)),  # the stage loads slowly
    # what every page asks before its parts: each a query (and an Ibis compile) of 10-20 ms on the demo base
    "segmentations": (views.fitted_segmentations, ("segmentation_models", "snapshot_periods")),
    "periods": (lambda ws, name: [str(p) for p in ws.periods(name)], ("snapshot_periods",)),
    "data-as-of": (data_as_of, ("snapshot_periods",)),
    "alert-periods": (lambda ws: sorted({str(p) for p in views.alert_counts(ws).period}, reverse=True), ("alerts",)),
    "alerts": (lambda ws, limit, filters: sections_activity.alerts(ws, limit, CUSTOMER_LINK, **dict(filters)),
               SEGMENT_TABLES + ("alerts", "orders")),
    "predictive": (predictive, ("predictive_models", "orders", "segment_snapshots")),
}


def section(service: Any, ws: Workspace, part: str, *args: Any) -> Any:
    """A page part computed once per state of the tables it reads (and kept for the next visitor)."""
    build, depends = SECTIONS[part]
    key = (part, *args)
    return service.cached(key, lambda: build(ws, *args), *([depends] if depends else []))


def warm(service: Any) -> None:
    """Every page as first opened, for each segmentation, computed ahead of the first visitor (after
    each read model build): the cheap parts first, portraits (features as of a date) last. One read
    per part, so that a compaction waiting for reads in flight waits for one part, not for all."""

    def part(name: str, *args: Any) -> Any:
        with service.reader() as ws:
            return section(service, ws, name, *args)

    names = part("segmentations")
    part("stamp", service.clock().date())
    part("headline", part("data-as-of") or service.clock().date())
    for name in names:
        part("mix", name)
    part("alerts", 10, NO_FILTER)
    part("alerts", 100, NO_FILTER)
    for name in names:
        part("transitions", name, None, None)
        part("trajectories", name, 6)
        part("markov", name)
    part("audiences")
    part("audience-names")
    part("predictive", None)
    for name in names:
        part("portraits", name, None)
        part("quality", name, None)


class LoginNeeded(Exception):
    """No usable key for a dashboard page: answered with an explanation page, not JSON."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


async def viewer(
    request: Request, cookie: str | None = Depends(cookie_key), header: str | None = Depends(header_key)
) -> ApiKey:
    """The caller's read key: from ``?key=`` (then stored in a cookie), the header or the cookie."""
    keys = service_of(request).keys
    offered = request.query_params.get("key")
    if offered is not None:
        if keys.find(offered) is None or not keys.find(offered).allows("read"):
            raise LoginNeeded("this key is unknown, revoked or has no read scope")
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "key"]
        location = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        cookie_header = f"{COOKIE}={offered}; Path=/; HttpOnly; SameSite=Strict"
        raise HTTPException(303, "key stored", headers={"Location": location, "Set-Cookie": cookie_header})
    presented = header or cookie
    key = keys.find(presented) if presented else None
    if key is None or key.revoked_at is not None:
        raise LoginNeeded("open the dashboard link printed by `segmento serve`, or add ?key=<a read key> to the address")
    if not key.allows("read"):
        raise LoginNeeded(f"this key has scopes {', '.join(sorted(key.scopes))}; the dashboard needs 'read'", 403)
    return key


Viewer = Annotated[ApiKey, Depends(viewer)]


def login_page(request: Request, exc: LoginNeeded) -> HTMLResponse:
    html = render("login.html", title="Segmento: key needed", message=str(exc))
    return HTMLResponse(html, status_code=exc.status)


@dataclass
class Control:
    """One input of a page's form."""

    name: str
    label: str
    value: Any = ""
    options: list[Any] = field(default_factory=list)  # a select when given
    kind: str = "text"


def page(request: Request, active: str, page_sections: list[sections.Section], controls: list[Control] | None = None,
         notes: list[str] | None = None, **extra: Any) -> HTMLResponse:
    """A dashboard page, its header saying the date the data is as of and how fresh each source is."""
    service = service_of(request)
    with service.reader() as ws:
        dated = section(service, ws, "stamp", service.clock().date())
    html = render(extra.pop("template", "page.html"), title=active, nav=NAV, active=active, stamp=dated,
                  sections=page_sections, controls=controls or [], notes=notes or [], **extra)
    return HTMLResponse(html)


def _choose(service: Any, ws: Workspace, wanted: str | None) -> tuple[str | None, list[str], list[str]]:
    """(the segmentation to show, all of them, notes): the first one when none or an unknown one is asked."""
    names = section(service, ws, "segmentations")
    notes = []
    if wanted and wanted not in names:
        notes.append(f"No segmentation {wanted!r}; showing {names[0]!r}." if names else f"No segmentation {wanted!r}.")
    if not names:
        notes.append("No segmentation fitted yet: declare one in segmento.yaml and run `segmento fit`.")
    chosen = wanted if wanted in names else (names[0] if names else None)
    return chosen, names, notes


SegmentationParam = Annotated[str | None, Query(max_length=100)]
Loose = Annotated[str | None, Query(max_length=40)]  # form fields arrive as text, empty when unset


def _date(text: str | None, label: str, notes: list[str]) -> date | None:
    """A form's date, or None (with a note) when empty or not a date."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        notes.append(f"{label}: {text!r} is not a date (YYYY-MM-DD); ignored.")
        return None


def _number(text: str | None, label: str, notes: list[str]) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1e12:  # NaN fails too
        notes.append(f"{label}: {text!r} is not a number between 0 and 10^12; ignored.")
        return None
    return value


@router.get("/static/{name}")
async def static(name: str, key: Viewer) -> FileResponse:
    if name not in STATIC_FILES:
        raise HTTPException(404, "no such file")
    # pages ask for it with its digest in the address (?v=): kept a year, fetched and parsed once
    return FileResponse(STATIC_FILES[name], headers={"Cache-Control": "private, max-age=31536000, immutable"})


@router.get("", include_in_schema=False)
async def root(key: Viewer) -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=307)


@router.get("/")
def overview(request: Request, key: Viewer) -> HTMLResponse:
    """The headline, the segment mix over time of every segmentation, and the latest alerts."""
    service = service_of(request)
    at = service.clock().date()
    with service.reader() as ws:
        names = section(service, ws, "segmentations")
        shown = section(service, ws, "data-as-of") or at
        found = [section(service, ws, "headline", shown), *(section(service, ws, "mix", name) for name in names),
                 section(service, ws, "alerts", 10, NO_FILTER)]
    notes = [] if names else ["No segmentation fitted yet: declare one in segmento.yaml and run `segmento fit`."]
    return page(request, "Overview", found, notes=notes)


def _period_options(service: Any, ws: Workspace, name: str | None) -> list[str]:
    return section(service, ws, "periods", name) if name else []


@router.get("/transitions")
def transitions(
    request: Request,
    key: Viewer,
    segmentation: SegmentationParam = None,
    from_: Annotated[Loose, Query(alias="from")] = None,
    to: Loose = None,
) -> HTMLResponse:
    """The transition matrix heatmap between two snapshot periods (the last two by default)."""
    service = service_of(request)
    with service.reader() as ws:
        name, names, notes = _choose(service, ws, segmentation)
        start, end = _date(from_, "from", notes), _date(to, "to", notes)
        periods = _period_options(service, ws, name)
        found = []
        if name:
            if (start and str(start) not in periods) or (end and str(end) not in periods):
                notes.append("Choose periods among the snapshots taken; showing the last two.")
                start = end = None
            if start and end and start >= end:
                notes.append("`from` must be before `to`; showing the last two periods.")
                start = end = None
            found.append(section(service, ws, "transitions", name, start, end))
    controls = [
        Control("segmentation", "segmentation", name, names),
        Control("from", "from", str(start or (periods[-2] if len(periods) > 1 else "")), periods),
        Control("to", "to", str(end or (periods[-1] if periods else "")), periods),
    ]
    return page(request, "Transitions", found, controls, notes)


@router.get("/trajectories")
def trajectories(
    request: Request, key: Viewer, segmentation: SegmentationParam = None,
    last: Annotated[int, Query(ge=2, le=36)] = 6,
) -> HTMLResponse:
    """Customers' paths through the segments as a Sankey, the most frequent paths, and where the mix
    is heading (Markov forecast with its interval, and how a past forecast fared)."""
    service = service_of(request)
    with service.reader() as ws:
        name, names, notes = _choose(service, ws, segmentation)
        found = [section(service, ws, "trajectories", name, last), section(service, ws, "markov", name)] if name else []
    controls = [Control("segmentation", "segmentation", name, names),
                Control("last", "periods", last, list(range(2, 25)))]
    return page(request, "Trajectories", found, controls, notes)


@router.get("/portraits")
def portraits(
    request: Request, key: Viewer, segmentation: SegmentationParam = None, as_of: Loose = None,
) -> HTMLResponse:
    """Segment portraits: shares of customers and revenue, distinctive features, descriptions."""
    service = service_of(request)
    with service.reader() as ws:
        name, names, notes = _choose(service, ws, segmentation)
        when = _date(as_of, "as of", notes)
        found = [section(service, ws, "portraits", name, when), section(service, ws, "quality", name, when)] \
            if name else []
    controls = [Control("segmentation", "segmentation", name, names),
                Control("as_of", "as of (default: latest snapshot)", str(when or ""), kind="date")]
    return page(request, "Portraits", found, controls, notes)


@router.get("/audiences")
def audiences(
    request: Request, key: Viewer,
    portrait: Annotated[str | None, Query(max_length=63, description="an audience to portray")] = None,
) -> HTMLResponse:
    """Audiences: rules, sizes and their trend, entries and exits, overlaps, granularity warnings;
    optionally one audience's portrait."""
    service = service_of(request)
    notes: list[str] = []
    with service.reader() as ws:
        found = [section(service, ws, "audiences")]
        names = section(service, ws, "audience-names")
        if portrait and portrait not in names:
            notes.append(f"No audience {portrait!r}.")
        elif portrait:
            at = service.clock()
            found.append(service.cached(("audience-portrait-section", portrait, at), lambda: sections.portrait_section(
                ws, views.audience_portraits(ws, portrait, at), f"audience {portrait}: portrait at {at:%Y-%m-%d}",
                f"portrait-{portrait}")))
    controls = [Control("portrait", "portrait of", portrait or "", ["", *names])] if names else []
    return page(request, "Audiences", found, controls, notes)


@router.get("/alerts")
def alerts(
    request: Request, key: Viewer,
    kind: Literal["", "negative", "positive", "high_stakes"] = "",
    period: Loose = None,
    rule: Annotated[str | None, Query(max_length=100, pattern=PRINTABLE)] = None,
    min_priority: Loose = None,
) -> HTMLResponse:
    """Trajectory alerts, latest period first, filtered by period, kind, rule and value, with totals."""
    service = service_of(request)
    notes: list[str] = []
    day, least = _date(period, "period", notes), _number(min_priority, "least value at stake", notes)
    with service.reader() as ws:
        when = period_end(day, ws.project.dynamics.grid) if day else None
        rules = [r.name for r in ws.project.dynamics.rules]
        if rule and rule not in rules:
            notes.append(f"No rule {rule!r}; showing every rule.")
            rule = None
        filters = (("kind", kind or None), ("period", when), ("rule", rule or None), ("min_priority", least))
        found = [section(service, ws, "alerts", 100, filters)]
        periods = section(service, ws, "alert-periods")
    controls = [Control("period", "period", str(when or ""), ["", *periods]),
                Control("kind", "kind", kind, ["", "negative", "positive", "high_stakes"]),
                Control("rule", "rule", rule or "", ["", *rules]),
                Control("min_priority", "least value at stake", "" if least is None else least, kind="number")]
    return page(request, "Alerts", found, controls, notes)
