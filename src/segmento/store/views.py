"""Views the database keeps over registry tables (created with the tables, in ``store.tables``)."""

from __future__ import annotations

from collections.abc import Callable

import ibis
from ibis import _

from segmento.store.registry import AUDIENCE_CHANGES

ENTER, EXIT = "enter", "exit"
MEMBERSHIP_VIEW = "audience_membership"


def intervals(changes: ibis.Table) -> ibis.Table:
    """(customer_id, audience, entered_at, exited_at, enter/exit reason and why); exited_at NULL while a member.

    Changes alternate enter/exit per customer and audience, so the k-th entry (position 2k)
    closes with the change at position 2k + 1. Pairing them in a view means writing a
    change never updates a row: the real-time path only appends, and any engine can run it.
    """
    window = ibis.window(group_by=["customer_id", "audience"], order_by="seq")
    numbered = changes.mutate(position=ibis.row_number().over(window))
    enters = numbered.filter(_.kind == ENTER)
    exits = numbered.filter(_.kind == EXIT)
    joined = enters.left_join(
        exits,
        [
            enters.customer_id == exits.customer_id,
            enters.audience == exits.audience,
            enters.position + 1 == exits.position,
        ],
    )
    return joined.select(
        customer_id=enters.customer_id,
        audience=enters.audience,
        entered_at=enters.at,
        exited_at=exits.at,
        enter_reason=enters.reason,
        exit_reason=exits.reason,
        enter_why=enters.why,
        exit_why=exits.why,
        enter_change_id=enters.change_id,
    )


VIEWS: dict[str, tuple[str, Callable[[ibis.Table], ibis.Table]]] = {
    MEMBERSHIP_VIEW: (AUDIENCE_CHANGES.name, intervals),  # view name -> (the table it reads, its definition)
}
