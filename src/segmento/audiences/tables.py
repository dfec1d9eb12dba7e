"""The tables of the audiences stage (declared in ``store/registry.py``).

History is append-only: ``audience_changes`` holds every enter/exit with a stable
``change_id`` (the activation stage delivers them by that key), a ``seq`` giving their
order, the instant and the reason. Intervals (``audience_membership``) are a view over
it (``store/views.py``), so writing a change never updates a row.
"""

from __future__ import annotations

import ibis

from segmento.store import registry
from segmento.store.views import ENTER, EXIT, MEMBERSHIP_VIEW

AUDIENCES = registry.AUDIENCES.schema
AUDIENCE_CHANGES = registry.AUDIENCE_CHANGES.schema

__all__ = ["AUDIENCES", "AUDIENCE_CHANGES", "ENTER", "EXIT", "MEMBERSHIP_VIEW", "current_membership"]


def current_membership(changes: ibis.Table) -> ibis.Table:
    """(customer_id, audience) of every open interval: more entries than exits."""
    net = ibis.ifelse(changes.kind == ENTER, 1, -1).sum()
    counted = changes.group_by(["customer_id", "audience"]).agg(net=net)
    return counted.filter(counted.net > 0).select("customer_id", "audience")
