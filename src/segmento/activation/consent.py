"""Consent at send time: a destination bound to a channel only reaches customers who consent to it.

The ledger is read when a message is about to leave (not when it was queued), so a
withdrawal recorded in between is honoured. What is held back is counted per destination.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import ibis
from ibis.backends import BaseBackend

from segmento.activation.settings import DestinationBase
from segmento.store.consents import consenting


def consenting_ids(con: BaseBackend, destination: DestinationBase, customer_ids: Iterable[str], at: datetime) -> set[str]:
    """Those of ``customer_ids`` the destination may reach at ``at`` (all of them when it has no channel)."""
    ids = {i for i in customer_ids if i is not None}
    if destination.channel is None or not ids:
        return ids
    allowed = consenting(con, destination.channel, at, destination.purpose)
    allowed = allowed.filter(allowed.customer_id.isin(sorted(ids)))
    return set(allowed.customer_id.to_pyarrow().to_pylist())


def consenting_members(con: BaseBackend, destination: DestinationBase, members: ibis.Table, at: datetime) -> ibis.Table:
    """An audience's members the destination may reach at ``at``, as an engine-side semi-join."""
    if destination.channel is None:
        return members
    return members.semi_join(consenting(con, destination.channel, at, destination.purpose), "customer_id")


def refusal(destination: DestinationBase, at: datetime) -> str:
    """Why a message was held back, as stored in the outbox."""
    return f"no {destination.channel} consent for {destination.purpose} at {at.isoformat(sep=' ', timespec='seconds')}"
