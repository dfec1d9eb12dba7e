"""The customer 360 answered below the web framework when the read model can answer it.

A 360 from memory takes well under 100 us; the framework's routing through every route,
its dependency solving (three ways of presenting a key) and its request objects cost
three times that, and a channel asks for 360s by the thousand a second. So a plain
``GET /api/customers/{id}`` with an ``X-API-Key`` header that may read is answered here,
by the same function as the route's, audited alike. Everything else (another way of
presenting the key, a refused key, ``?fresh``, a customer written since the build or not
in the base, an id the route would refuse) goes on to the framework unchanged, which
answers it as it always did.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from segmento.service.http import dumps
from segmento.service.inputs import PRINTABLE
from segmento.service.runtime import Service

PREFIX = "/api/customers/"
READ_HEADER = b"x-api-key"
_ID = re.compile(PRINTABLE)


def from_read_model(service: Service, key_id: str, customer_id: str) -> bytes | None:
    """The 360 as JSON from the read model, its read audited; None when the model cannot answer for the
    customer (not built, customer written since, not in the base): the caller reads it live instead."""
    model = service.profiles.ready_for(customer_id)
    profile = model.get(customer_id) if model is not None else None
    if profile is None:
        return None
    service.audit.add(key_id, "customer_360_read", service.ws.pseudonym(customer_id), {"found": True})
    return dumps({**profile, "source": "read-model"})


class Fast360:
    """ASGI middleware: the read-model 360 for a reader's key, anything else to ``app``."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._answer(scope) if scope["type"] == "http" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    def _answer(self, scope: dict[str, Any]) -> bytes | None:
        path: str = scope["path"]
        if scope["method"] != "GET" or scope["query_string"] or not path.startswith(PREFIX):
            return None
        customer_id = path[len(PREFIX):]
        if not 0 < len(customer_id) <= 128 or "/" in customer_id or not _ID.match(customer_id):
            return None
        presented = next((value for name, value in scope["headers"] if name == READ_HEADER), None)
        if presented is None:
            return None
        key = self.service.keys.find(presented.decode("latin-1"))
        if key is None or not key.allows("read"):
            return None
        return from_read_model(self.service, key.key_id, customer_id)
