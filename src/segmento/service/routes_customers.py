"""Customer 360 by id, and the GDPR rights on it (access export, erasure: admin only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from segmento.service.auth import DENIED, Admin, Reader, service_of
from segmento.service.fast360 import from_read_model
from segmento.service.http import not_found, respond
from segmento.service.keys import ApiKey
from segmento.service.inputs import PRINTABLE
from segmento.service.schemas import Customer360, Erasure
from segmento.store.compact import FileInUse
from segmento.store.gdpr import Erasure as Erased, completed
from segmento.workspace import Workspace

router = APIRouter(prefix="/api/customers", tags=["customers"], responses=DENIED)
CustomerId = Annotated[str, Path(min_length=1, max_length=128, pattern=PRINTABLE, description="the brand's customer id")]
NOT_FOUND = {404: {"description": "no such customer"}}


@contextmanager
def acting(ws: Workspace, actor: str) -> Iterator[Workspace]:
    """The workspace acting for ``actor`` (the audit log names the API key); the caller holds the write lock."""
    previous, ws.actor = getattr(ws, "actor", None), actor
    try:
        yield ws
    finally:
        ws.actor = previous


def target(ws: Workspace, customer_id: str) -> str:
    """How the audit log names a customer: the keyed pseudonym the suppression list uses (no id left behind)."""
    return ws.pseudonym(customer_id)


@router.get("/{customer_id}", response_model=Customer360, responses=NOT_FOUND)
async def customer_360(
    customer_id: CustomerId,
    request: Request,
    fresh: Annotated[bool, Query(description="read the knowledge base now instead of the read model")] = False,
    key: ApiKey = Reader,
) -> Response:
    """Attributes, current features, audiences, segment in every segmentation with its history, consents."""
    service = service_of(request)
    body = None if fresh else from_read_model(service, key.key_id, customer_id)
    if body is not None:  # the common case: answered from memory, on the event loop (most often by Fast360)
        return Response(body, media_type="application/json")
    model = None if fresh else service.profiles.ready_for(customer_id)
    if model is not None:  # not in the base
        profile, source = None, "read-model"
    else:
        profile, source = await run_in_threadpool(service.profiles.get, customer_id, fresh)
    service.audit.add(key.key_id, "customer_360_read", target(service.ws, customer_id), {"found": profile is not None})
    if profile is None:
        raise not_found(f"no customer {customer_id!r}")
    return respond({**profile, "source": source})


@router.get("/{customer_id}/export", responses=NOT_FOUND)
def export_customer(customer_id: CustomerId, request: Request, key: ApiKey = Admin) -> Response:
    """Right of access: every row held about the customer, table by table (audited)."""
    with service_of(request).writer() as ws, acting(ws, key.key_id):
        export = ws.export_customer(customer_id)
    if not export["data"]:
        raise not_found(f"nothing is held about customer {customer_id!r}")
    return respond(export)


@router.delete("/{customer_id}", response_model=Erasure)
def forget_customer(customer_id: CustomerId, request: Request, key: ApiKey = Admin) -> Response:
    """Right to erasure: the customer leaves every table, drop file and this service's memory (audited by
    keyed pseudonym); then the database file is rewritten (``gdpr.compact: on_erasure``) or the erasure
    stays pending until compaction, as ``physically_complete`` says."""
    service = service_of(request)
    with service.writer() as ws, acting(ws, key.key_id):
        erasure = ws.forget(customer_id, compact=False)
        service.profiles.forget(customer_id)
        if ws.project.gdpr.compact == "on_erasure" and ws.con.name == "duckdb":
            try:
                erasure = completed(erasure.removed, service.compact().seconds)
            except FileInUse as exc:
                erasure = Erased(erasure.removed, False, f"{erasure.note}; the rewrite could not run: {exc}")
    return respond({"customer_id": customer_id, "removed": erasure.removed,
                    "physically_complete": erasure.physically_complete, "note": erasure.note})
