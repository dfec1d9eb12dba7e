"""The knowledge-base tables of the audiences stage.

History is append-only: ``audience_changes`` holds every enter/exit with a stable
``change_id`` (the activation stage delivers them by that key), a ``seq`` giving their
order, the instant and the reason. Intervals (``audience_membership``) are a view that
pairs each customer's k-th entry in an audience with its k-th exit, so writing a change
never updates a row: the real-time path only appends, and any engine can run it.
"""

from __future__ import annotations

import ibis
from ibis import _
from ibis.backends import BaseBackend

AUDIENCES = ibis.schema(
    {
        "name": "string",
        "rule": "string",
        "description": "string",
        "owner": "string",
        "tags": "array<string>",
        "updated_at": "timestamp",
    }
)
AUDIENCE_CHANGES = ibis.schema(
    {
        "change_id": "string",  # md5 of reason|audience|customer|kind: the same change always has the same id
        "seq": "int64",
        "customer_id": "string",
        "audience": "string",
        "kind": "string",  # enter | exit
        "at": "timestamp",  # the instant membership was evaluated
        "reason": "string",  # event:<event_id> | refresh:<refresh_id> | removed:<refresh_id>
        "recorded_at": "timestamp",
    }
)
AUDIENCE_REFRESHES = ibis.schema(
    {
        "refresh_id": "string",
        "as_of": "timestamp",
        "started_at": "timestamp",
        "seconds": "float64",
        "audiences": "int64",
        "members": "int64",
        "enters": "int64",
        "exits": "int64",
    }
)
TABLES = {"audiences": AUDIENCES, "audience_changes": AUDIENCE_CHANGES, "audience_refreshes": AUDIENCE_REFRESHES}
MEMBERSHIP_VIEW = "audience_membership"
ENTER, EXIT = "enter", "exit"


def ensure_audience_tables(con: BaseBackend) -> None:
    """Create the audience tables and the intervals view where missing (never alters data)."""
    existing = set(con.list_tables())
    for name, schema in TABLES.items():
        if name not in existing:
            con.create_table(name, schema=schema)
    if MEMBERSHIP_VIEW not in existing:
        con.create_view(MEMBERSHIP_VIEW, intervals(con.table("audience_changes")))


def intervals(changes: ibis.Table) -> ibis.Table:
    """(customer_id, audience, entered_at, exited_at, enter_reason, exit_reason); exited_at NULL while a member.

    Changes alternate enter/exit per customer and audience, so the k-th entry (position 2k)
    closes with the change at position 2k + 1.
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
        enter_change_id=enters.change_id,
    )


def current_membership(changes: ibis.Table) -> ibis.Table:
    """(customer_id, audience) of every open interval: more entries than exits."""
    net = ibis.ifelse(changes.kind == ENTER, 1, -1).sum()
    counted = changes.group_by(["customer_id", "audience"]).agg(net=net)
    return counted.filter(counted.net > 0).select("customer_id", "audience")
