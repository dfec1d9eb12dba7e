"""The consent in force: the latest ledger row at or before a time, per customer, channel and purpose."""

from __future__ import annotations

from datetime import date, datetime, time

import ibis
from ibis.backends import BaseBackend


def end_of(day: date | datetime) -> datetime:
    """A date means the whole day: data recorded at any time that day counts."""
    if isinstance(day, datetime):
        return day
    return datetime.combine(day, time.max)


def consents_in_force(con: BaseBackend, at: date | datetime, purpose: str | None = "marketing") -> ibis.Table:
    """One row per (customer, channel, purpose) with ``granted`` as it stood at ``at``.

    A withdrawal is a later row with granted = false; with no row at all there is no consent.
    """
    ledger = con.table("consents")
    ledger = ledger.filter(ledger.recorded_at <= end_of(at))
    if purpose is not None:
        ledger = ledger.filter(ledger.purpose == purpose)
    latest = ibis.window(group_by=["customer_id", "channel", "purpose"], order_by=ibis.desc("recorded_at"))
    ranked = ledger.mutate(_rank=ibis.row_number().over(latest))
    return ranked.filter(ranked._rank == 0).select("customer_id", "channel", "purpose", "granted", "recorded_at")


def consenting(con: BaseBackend, channel: str, at: date | datetime, purpose: str = "marketing") -> ibis.Table:
    """Customer ids who consent to ``channel`` for ``purpose`` at ``at``."""
    state = consents_in_force(con, at, purpose)
    return state.filter((state.channel == channel) & state.granted).select("customer_id")
