"""The service's door to the audiences stage, whichever way the workspace exposes it.

The Workspace may carry the stage itself (``ws.audiences``, ``ws.push_event``); until
it does, the stage's own ``Audiences`` class is opened on the workspace's connection.
When the stage is missing altogether the audience endpoints answer 503 and say so.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import ibis

from segmento.workspace import Workspace

_opened: weakref.WeakKeyDictionary[Workspace, Any] = weakref.WeakKeyDictionary()


class StageMissing(RuntimeError):
    """A stage this endpoint needs is not installed in this build."""


def stage(ws: Workspace) -> Any:
    """The audiences stage of ``ws`` (raises StageMissing when the stage is not there)."""
    own = getattr(ws, "audiences", None)
    if own is not None and hasattr(own, "list"):
        return own
    if ws not in _opened:
        try:
            from segmento.audiences.service import Audiences
        except ImportError as exc:  # pragma: no cover - depends on the build
            raise StageMissing(f"the audiences stage is not available: {exc}") from exc
        _opened[ws] = Audiences(ws.con, ws.project)
    return _opened[ws]


def available(ws: Workspace) -> bool:
    try:
        stage(ws)
    except StageMissing:
        return False
    return True


def push_event(ws: Workspace, event: Mapping[str, Any]) -> list[Any]:
    """Record one event and return the enter/exit changes it caused."""
    if hasattr(ws, "push_event"):
        return ws.push_event(event)
    return stage(ws).push_event(event)


def order_pusher(ws: Workspace) -> Any | None:
    """The stage's real-time path for orders, when it has one (else orders are ingested in batch)."""
    for holder in (ws, _quiet_stage(ws)):
        push = getattr(holder, "push_order", None)
        if push is not None:
            return push
    return None


def _quiet_stage(ws: Workspace) -> Any:
    try:
        return stage(ws)
    except StageMissing:
        return None


def current(ws: Workspace) -> ibis.Table | None:
    """(customer_id, audience) as last recorded, or None without the stage."""
    found = _quiet_stage(ws)
    return found.current() if found is not None else None
