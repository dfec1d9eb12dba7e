"""The consent in force, decided in one place: the latest ledger row at or before a time,
per customer, channel and purpose, is the answer; no row at all means no consent.

It is written as two plain max() aggregates (when the latest row was recorded, when the
latest grant was) instead of a window ranking, so it is one cheap group-by on every
engine and the features stage computes ``consent_<channel>`` from the same two
aggregates inside its own group-by.
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmento.store.asof import AsOf

KEY = ("customer_id", "channel", "purpose")


def ledger_aggregates(ledger: ibis.Table, where: ir.BooleanValue | None = None) -> tuple[ir.Scalar, ir.Scalar]:
    """(time of the latest row, time of the latest grant) among ``where``'s rows of the ledger."""
    granted = ledger.granted if where is None else where & ledger.granted
    return ledger.recorded_at.max(where=where), ledger.recorded_at.max(where=granted)


def in_force(latest: ir.TimestampValue, latest_grant: ir.TimestampValue) -> ir.BooleanValue:
    """Consent holds when the latest row is a grant (a ledger has one row per instant)."""
    return (latest_grant == latest).fill_null(False)


def consents_in_force(con: BaseBackend, at: date | datetime, purpose: str | None = "marketing") -> ibis.Table:
    """One row per (customer, channel, purpose) with ``granted`` as it stood at ``at``
    and ``recorded_at`` of the row that decided it."""
    ledger = con.table("consents")
    ledger = ledger.filter(AsOf.of(at).visible(ledger.recorded_at))
    if purpose is not None:
        ledger = ledger.filter(ledger.purpose == purpose)
    latest, latest_grant = ledger_aggregates(ledger)
    state = ledger.group_by(list(KEY)).agg(recorded_at=latest, _grant=latest_grant)
    return state.select(*KEY, granted=in_force(state.recorded_at, state._grant), recorded_at=state.recorded_at)


def consenting(con: BaseBackend, channel: str, at: date | datetime, purpose: str = "marketing") -> ibis.Table:
    """Customer ids who consent to ``channel`` for ``purpose`` at ``at``."""
    state = consents_in_force(con, at, purpose)
    return state.filter((state.channel == channel) & state.granted).select("customer_id")
