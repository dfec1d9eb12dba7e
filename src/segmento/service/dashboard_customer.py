"""The dashboard's Customer 360 page: identity, consents, segments and their history, audiences since
when, alerts, orders and events, features by axis.

Built per request (a customer is rarely asked twice): the profile from the read model, a few
point queries compiled once, charts as plain specs. What every customer's page shares (segment
names, currency, the compiled queries, the feature catalog) is prepared with the other pages
after each read model build, so that the first visitor does not pay for it either.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from segmento.report import customer as customer_view, sections, views
from segmento.report.render import environment
from segmento.service.auth import service_of
from segmento.service.dashboard import SEGMENT_TABLES, Control, Viewer, page
from segmento.service.inputs import PRINTABLE
from segmento.service.routes_customers import target
from segmento.workspace import Workspace

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def parts(service: Any, ws: Workspace, customer_id: str, profile: dict[str, Any]) -> tuple[list[sections.Section],
                                                                                            dict[str, Any]]:
    """(the page's sections, what its template shows beside them) for one customer's profile."""
    currency = service.cached(("currency",), lambda: views.currency(ws), ("orders",))
    # compiled queries only: the read model's instant is their one parameter beside the customer
    lookups = service.cached(("customer-lookups", profile["as_of"]), lambda: customer_view.Lookups(ws, profile["as_of"]),
                             ())
    infos = {name: service.cached(("segments", name), lambda n=name: views.segments(ws, n), SEGMENT_TABLES)
             for name in profile["segments"]}
    extra = {
        "identity": customer_view.identity(profile["attributes"]),
        "segments": {name: sections.named(infos[name], s["segment_id"]) if s else None
                     for name, s in profile["segments"].items()},
        "groups": customer_view.feature_groups(ws, profile["features"], currency),
        "since": customer_view.since_when(ws, lookups, customer_id) if profile["audiences"] else {},
        "alerts": customer_view.customer_alerts(ws, lookups, customer_id, currency, infos),
    }
    found = [customer_view.history_sections(profile["segment_history"], infos),
             customer_view.timeline(ws, lookups, customer_id, currency)]
    return found, extra


def warm(service: Any) -> None:
    """One customer's page parts computed (and not shown) after each read model build: the shared parts
    are then kept, and the first visitor waits for their customer's own queries only."""
    model = service.profiles.model
    if model is None or not len(model):
        return
    customer_id = next(iter(model.index))
    with service.reader() as ws:
        parts(service, ws, customer_id, model.get(customer_id))
    environment().get_template("customer.html")  # compiled once, kept by the environment


@router.get("/customers")
def customer(
    request: Request, key: Viewer,
    id: Annotated[str | None, Query(max_length=128, pattern=PRINTABLE)] = None,  # noqa: A002 - the form field
) -> HTMLResponse:
    """Look a customer up by id."""
    service = service_of(request)
    profile, source, notes, found, extra = None, None, [], [], {}
    if id:
        profile, source = service.profiles.get(id)
        service.audit.add(key.key_id, "customer_360_read", target(service.ws, id),
                          {"found": profile is not None, "via": "dashboard"})
        if profile is None:
            notes.append(f"No customer {id!r}.")
        else:
            with service.reader() as ws:
                found, extra = parts(service, ws, id, profile)
    controls = [Control("id", "customer id", id or "")]
    return page(request, "Customer lookup", found, controls, notes, template="customer.html", profile=profile,
                source=source, **extra)
