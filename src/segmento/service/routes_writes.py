"""Events and orders in, recorded in the knowledge base.

Events take the audiences stage's real-time path: memberships are updated at once and
the enter/exit changes returned to the caller. Orders go through the ingestion stage:
validated, deduplicated, bad rows kept in quarantine with their reason (nothing lost),
and memberships follow at the next audience refresh.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pyarrow as pa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from segmento.audiences.realtime import EventError
from segmento.errors import SegmentoError
from segmento.service.auth import BAD_BODY, DENIED, Writer, service_of
from segmento.service.http import respond
from segmento.service.keys import ApiKey
from segmento.service.runtime import Service
from segmento.service.inputs import EventBatch, EventIn, OrderBatch, OrderIn
from segmento.service.schemas import BatchResult, WriteResult
from segmento.store.schema import TABLES
from segmento.workspace import Workspace

router = APIRouter(prefix="/api", tags=["events and orders"], responses={**DENIED, **BAD_BODY})
REJECTED = {422: {"description": "invalid, or refused by the knowledge base (the reason says why)"}}


def _result(id_: str, customer_id: str, status: str, realtime: bool, changes: list[Any] | None = None,
            error: str | None = None) -> dict[str, Any]:
    listed = None if changes is None else [asdict(c) if not isinstance(c, dict) else c for c in changes]
    return {"id": id_, "customer_id": customer_id, "status": status, "realtime": realtime, "changes": listed,
            "error": error}


def _events(ws: Workspace, events: list[EventIn]) -> list[dict[str, Any]]:
    results = []
    for event in events:
        try:
            changes = ws.push_event(event.row())
        except EventError as exc:
            results.append(_result(event.event_id, event.customer_id, "rejected", True, None, str(exc)))
        else:
            results.append(_result(event.event_id, event.customer_id, "accepted", True, changes))
    return results


def _orders(ws: Workspace, orders: list[OrderIn]) -> list[dict[str, Any]]:
    heads = [order.model_dump(exclude={"lines"}) for order in orders]
    lines = [{**line.model_dump(), "order_id": order.order_id} for order in orders for line in order.lines]
    return _ingested(ws, "orders", heads, "order_id", lines)


def _ingested(ws: Workspace, table: str, rows: list[dict[str, Any]], key: str,
              lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows through the ingestion stage: accepted, duplicate (already held) or rejected, by key.

    Each row's status comes from the run's own checks, not from what the quarantine
    gained: the same rejected row is rejected again with the same reason, and the same
    accepted row is a duplicate the second time, stored once.
    """
    try:
        report = ws.ingest(table, _frame(table, rows), outcomes=True)
    except SegmentoError as exc:  # the run is refused whole (e.g. mixed currencies): every row, same reason
        return [_result(row[key], row["customer_id"], "rejected", False, None, str(exc)) for row in rows]
    line_reasons: dict[str, list[str]] = {}
    if lines:
        line_report = ws.ingest("order_lines", _frame("order_lines", lines), outcomes=True)
        for number, (status, reason) in sorted(line_report.outcomes.items()):
            if status == "rejected":
                line = lines[number - 1]
                line_reasons.setdefault(line["order_id"], []).append(f"line {line['line_no']}: {reason}")
    results = []
    for number, row in enumerate(rows, start=1):
        status, reason = report.outcomes.get(number, ("rejected", f"{key} of a customer erased under GDPR: not stored"))
        if status == "rejected":
            error = reason
        else:
            status = "accepted" if status == "loaded" else status
            error = "; ".join(line_reasons.get(row[key], [])) or None
        results.append(_result(row[key], row["customer_id"], status, False, None, error))
    return results


def _frame(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = TABLES[table].schema.to_pyarrow()
    return pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)


def record(service: Service, key: ApiKey, kind: str, items: list[Any]) -> dict[str, Any]:
    """Write events or orders, then keep the read model and the audit log in step."""
    with service.writer(own=True) as ws:
        results = _events(ws, items) if kind == "events" else _orders(ws, items)
        service.profiles.touched([r["customer_id"] for r in results if r["status"] != "rejected"])
        service.profiles.accept_own_write()
        summary = {
            "accepted": sum(r["status"] == "accepted" for r in results),
            "duplicates": sum(r["status"] == "duplicate" for r in results),
            "rejected": sum(r["status"] == "rejected" for r in results),
            "changes": sum(len(r["changes"] or []) for r in results),
        }
    service.audit.add(key.key_id, f"{kind}_write", None, summary)
    return {**summary, "results": results}


def _one(result: dict[str, Any]) -> Response:
    if result["status"] == "rejected":
        raise HTTPException(422, result["error"])
    return respond(result)


@router.post("/events", response_model=WriteResult, responses=REJECTED)
def post_event(event: EventIn, request: Request, key: ApiKey = Writer) -> Response:
    """Record one event; the response lists the audience enter/exit changes it caused."""
    return _one(record(service_of(request), key, "events", [event])["results"][0])


@router.post("/events/batch", response_model=BatchResult)
def post_events(batch: EventBatch, request: Request, key: ApiKey = Writer) -> Response:
    """Record up to 1,000 events in order; each has its own status and changes."""
    return respond(record(service_of(request), key, "events", batch.events))


@router.post("/orders", response_model=WriteResult, responses=REJECTED)
def post_order(order: OrderIn, request: Request, key: ApiKey = Writer) -> Response:
    """Record one order with its lines."""
    return _one(record(service_of(request), key, "orders", [order])["results"][0])


@router.post("/orders/batch", response_model=BatchResult)
def post_orders(batch: OrderBatch, request: Request, key: ApiKey = Writer) -> Response:
    """Record up to 500 orders with their lines; each has its own status."""
    return respond(record(service_of(request), key, "orders", batch.orders))
