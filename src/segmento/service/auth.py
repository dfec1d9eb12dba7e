"""Who is calling: an API key in the ``X-API-Key`` header (or ``Authorization: Bearer``),
or, for the dashboard, in a cookie set from a ``?key=`` link.

401 when no valid key is presented (missing, unknown, revoked), 403 when the key lacks
the scope. Only /health answers without a key.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from segmento.service.keys import ApiKey
from segmento.service.runtime import Service

COOKIE = "segmento_key"
header_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key: sgk_<id>_<secret>")
bearer_key = HTTPBearer(auto_error=False, description="The same API key as a bearer token")
cookie_key = APIKeyCookie(name=COOKIE, auto_error=False, description="Set by opening a dashboard link with ?key=")


def service_of(request: Request) -> Service:
    return request.app.state.service


def require(scope: str) -> Callable[..., Coroutine[Any, Any, ApiKey]]:
    """A dependency that returns the caller's key if it may use ``scope``."""

    async def check(
        request: Request,
        header: str | None = Depends(header_key),
        bearer: HTTPAuthorizationCredentials | None = Depends(bearer_key),
        cookie: str | None = Depends(cookie_key),
    ) -> ApiKey:
        presented = header or (bearer.credentials if bearer else None) or cookie
        if not presented:
            raise HTTPException(401, "an API key is required: send it in the X-API-Key header",
                                headers={"WWW-Authenticate": "ApiKey"})
        key = service_of(request).keys.find(presented)
        if key is None or key.revoked_at is not None:
            raise HTTPException(401, "unknown or revoked API key", headers={"WWW-Authenticate": "ApiKey"})
        if not key.allows(scope):
            raise HTTPException(403, f"this key has scopes {', '.join(sorted(key.scopes))}; this needs {scope!r}")
        return key

    check.__name__ = f"require_{scope}"
    return check


DENIED: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid API key (missing, unknown or revoked)"},
    403: {"description": "the key does not have the scope this needs"},
}
BAD_BODY: dict[int | str, dict[str, Any]] = {400: {"description": "the body is not UTF-8 JSON"}}
Reader = Depends(require("read"))
Writer = Depends(require("write"))
Admin = Depends(require("admin"))
