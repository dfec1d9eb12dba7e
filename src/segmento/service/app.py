"""The FastAPI application: REST API, dashboard and OpenAPI docs over one workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from segmento.service import dashboard, dashboard_campaigns, dashboard_customer, dashboard_predictive, routes_admin
from segmento.service import routes_audiences
from segmento.service import routes_customers
from segmento.service import routes_campaigns, routes_segmentations
from segmento.service import routes_writes
from segmento.service.fast360 import Fast360
from segmento.service.http import respond
from segmento.service.runtime import Service
from segmento.workspace import Workspace

DESCRIPTION = """
Customer knowledge shared in real time with every channel (web, chatbot, email, call
centre, self-care): the customer 360, events and orders in with the audience changes
they cause, audiences, segmentations, snapshots, transitions, trajectories and alerts.

Every endpoint but `/health` needs an API key (`X-API-Key` header) with the scope it
names: **read**, **write** or **admin** (admin may do everything). Create keys with
`segmento keys create`.
"""


def create_app(
    ws: Workspace,
    *,
    as_of: date | datetime | None = None,
    read_model: bool = True,
    refresh_seconds: float = 2.0,
) -> FastAPI:
    """The app over ``ws``. ``as_of`` pins the service's 'now' (replayed or demo data);
    ``read_model=False`` answers every 360 from the knowledge base (slower, for comparison)."""
    service = Service(ws, as_of=as_of, refresh_seconds=refresh_seconds, read_model=read_model)
    service.warmers += [dashboard.warm, dashboard_customer.warm]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(title="Segmento", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.service = service
    for module in (routes_admin, routes_customers, routes_writes, routes_audiences, routes_segmentations,
                   routes_campaigns, dashboard, dashboard_customer, dashboard_predictive, dashboard_campaigns):
        app.include_router(module.router)

    app.add_middleware(Fast360, service=service)
    app.add_exception_handler(dashboard.LoginNeeded, dashboard.login_page)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        """FastAPI's own handler fails on an infinite number in the echoed input: a 500 for a bad request."""
        return respond({"detail": jsonable_encoder(exc.errors())}, 422)

    return app
