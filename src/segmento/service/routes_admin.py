"""Health (the one endpoint without a key), delivery status, API keys and the read model (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from segmento.service import keys as api_keys
from segmento.service.auth import BAD_BODY, DENIED, Admin, Reader, service_of
from segmento.service.http import not_found, respond
from segmento.service.keys import ApiKey
from segmento.service.inputs import KeyIn
from segmento.service.schemas import DeliveryStatus, Health, KeyOut, NewKey, ReadModelOut
from segmento.store import gdpr

router = APIRouter(tags=["admin"])


@router.get("/health", response_model=Health)
async def health(request: Request) -> Response:
    """Liveness for load balancers: no key needed, no data given."""
    service = service_of(request)
    state = "off" if not service.use_read_model else "ready" if service.profiles.model is not None else "building"
    warm = "ready" if service.profiles.builds and service.warmed_for == service.profiles.builds else "warming"
    return respond({"status": "ok", "read_model": state, "dashboard": warm})


@router.get("/api/delivery-status", response_model=list[DeliveryStatus], responses=DENIED, tags=["activation"])
def delivery_status(request: Request, key: ApiKey = Reader) -> Response:
    """Per destination: alerts and audience changes pending, delivered, failed and filtered out."""
    with service_of(request).reader() as ws:
        frame = ws.delivery_status()
    return respond(frame.astype(object).where(frame.notna(), None).to_dict("records"))


@router.get("/api/keys", response_model=list[KeyOut], responses=DENIED)
def list_keys(request: Request, key: ApiKey = Admin) -> Response:
    with service_of(request).reader() as ws:
        return respond([k.public() for k in api_keys.list_keys(ws.con)])


@router.post("/api/keys", response_model=NewKey, status_code=201, responses={**DENIED, **BAD_BODY})
def create_key(new: KeyIn, request: Request, key: ApiKey = Admin) -> Response:
    """A new key; the secret is in this response only (it is stored hashed)."""
    service = service_of(request)
    with service.writer() as ws:
        secret, record = api_keys.create_key(ws.con, new.name, new.scopes)
        gdpr.audit(ws.con, key.key_id, "api_key_create", f"key:{record.key_id}", {"scopes": sorted(record.scopes)})
    service.keys.reload()
    return respond({**record.public(), "key": secret}, status=201)


@router.delete("/api/keys/{key_id}", response_model=KeyOut, responses={**DENIED, 404: {"description": "no such key"}})
def revoke_key(key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{8}$")], request: Request, key: ApiKey = Admin) -> Response:
    """Revoke a key now (kept in the table so the audit log still names it)."""
    service = service_of(request)
    with service.writer() as ws:
        try:
            record = api_keys.revoke_key(ws.con, key_id)
        except api_keys.ApiKeyError as exc:
            raise not_found(str(exc)) from None
        gdpr.audit(ws.con, key.key_id, "api_key_revoke", f"key:{key_id}")
    service.keys.reload()
    return respond(record.public())


@router.post("/api/read-model/refresh", response_model=ReadModelOut,
             responses={**DENIED, 404: {"description": "a first build is still running"}})
async def refresh_read_model(request: Request, key: ApiKey = Admin) -> Response:
    """Bring the customer-360 read model up to date now, if the base changed since it was built.

    It also refreshes by itself within seconds; this call returns when it is done.
    """
    service = service_of(request)
    model = await run_in_threadpool(service.profiles.refresh)
    if model is None:
        raise not_found("the read model is being built; try again shortly")
    return respond({"customers": len(model), "as_of": model.as_of, "built_at": model.built_at,
                    "seconds": round(model.seconds, 3)})
