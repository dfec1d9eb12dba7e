"""The outbox: messages accepted for delivery, kept in the operational store until settled.

Producers write outbox rows in the same transaction as the change they announce (an
alert, an audience enter/exit), so a change is never committed without its messages.
The deliverer claims due rows, sends them and records the outcome here. A message id
is derived from the source record and the destination: enqueuing twice never makes a
second message, and a receiver drops a re-sent message by that same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import ibis
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from segmento.activation.delivery_status import COLUMNS, DELIVERED, FAILED, FILTERED, PENDING, status_rows  # noqa: F401
from segmento.store.backend import staged
from segmento.store.registry import OUTBOX as OUTBOX_TABLE
from segmento.store.tables import table
from segmento.store.engines import engine_of, home

OUTBOX = OUTBOX_TABLE.name
OUTBOX_SCHEMA = OUTBOX_TABLE.schema
NEW_COLUMNS = ("message_id", "destination", "source", "source_id", "topic", "customer_id", "priority", "payload")
MESSAGE_COLUMNS = ("message_id", "destination", "topic", "customer_id", "payload", "attempts", "last_error", "created_at")
CHANGE_COLUMNS = ("message_id", "status", "attempts", "next_attempt_at", "last_error", "settled_at")


def message_id(destination: str, source: str, source_id: str) -> str:
    """The stable idempotency key of one source record sent to one destination."""
    return hashlib.sha256(f"{destination}\x1f{source}\x1f{source_id}".encode()).hexdigest()[:32]


def to_json(body: dict) -> str:
    """Compact JSON; dates and timestamps as ISO text."""
    return json.dumps(body, default=str, separators=(",", ":"))


def new_message(
    destination: str, source: str, source_id: str, topic: str, customer_id: str | None, priority: float, body: str
) -> dict:
    """An outbox row for ``enqueue``. ``body`` is the payload's JSON object, serialised once for all
    destinations; the message's idempotency key is put first in it."""
    key = message_id(destination, source, source_id)
    return {
        "message_id": key, "destination": destination, "source": source, "source_id": source_id, "topic": topic,
        "customer_id": customer_id, "priority": priority, "payload": f'{{"idempotency_key":"{key}",{body[1:]}',
    }


@dataclass(frozen=True)
class Message:
    """A claimed message, as the senders see it."""

    message_id: str
    destination: str
    topic: str
    customer_id: str | None
    payload: str
    attempts: int
    last_error: str | None
    created_at: datetime


@dataclass(frozen=True)
class Change:
    """The new state of one message after a claim, a send or a consent check."""

    message_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None = None
    settled_at: datetime | None = None


def outbox(con: BaseBackend) -> ibis.Table:
    """The outbox table."""
    return table(con, OUTBOX)


def enqueue(con: BaseBackend, rows: list[dict], now: datetime | None = None) -> int:
    """Add new messages (dicts with ``NEW_COLUMNS``); those already in the outbox are skipped.

    One INSERT, so it is atomic alone and joins the caller's transaction when there is one.
    """
    con = home(con, OUTBOX)  # the operational store, when the batch runs on Spark
    table = outbox(con)
    if not rows:
        return 0
    now = now or datetime.now()
    rows = pa.Table.from_pylist(rows, _arrow_schema(NEW_COLUMNS))
    with staged(con, rows) as new:
        fresh = new.distinct(on="message_id").anti_join(table, "message_id")
        fresh = fresh.mutate(
            status=ibis.literal(PENDING),
            attempts=ibis.literal(0, "int64"),
            next_attempt_at=ibis.literal(now, "timestamp"),
            last_error=ibis.null("string"),
            created_at=ibis.literal(now, "timestamp"),
            settled_at=ibis.null("timestamp"),
        ).select(*OUTBOX_SCHEMA.names)
        count = int(fresh.count().execute())
        if count:
            con.insert(OUTBOX, fresh)
    return count


def existing_ids(con: BaseBackend, destination: str, source: str) -> ibis.Table:
    """Source ids already queued for a destination (for anti-joins before building payloads)."""
    table = outbox(con)
    return table.filter((table.destination == destination) & (table.source == source)).select("source_id")


def due(con: BaseBackend, destination: str, now: datetime, limit: int) -> list[Message]:
    """Pending messages whose next attempt (or lease) has come, oldest first, most at stake first."""
    table = outbox(con)
    rows = (
        table.filter((table.destination == destination) & (table.status == PENDING) & (table.next_attempt_at <= now))
        .order_by(["created_at", ibis.desc("priority"), "message_id"])
        .limit(limit)
        .select(*MESSAGE_COLUMNS)
    )
    return [Message(**row) for row in rows.to_pyarrow().to_pylist()]


def next_due(con: BaseBackend, destinations: Sequence[str]) -> datetime | None:
    """When the earliest pending message of these destinations becomes due (None: nothing pending)."""
    table = outbox(con)
    pending = table.filter((table.status == PENDING) & table.destination.isin(list(destinations)))
    return pending.next_attempt_at.min().execute() if pending.count().execute() else None


def record(con: BaseBackend, changes: Iterable[Change]) -> None:
    """Write new message states in one UPDATE (call inside a transaction with what goes with it)."""
    rows = [vars(change) for change in changes]
    if not rows:
        return
    outbox(con)
    engine_of(con).update(OUTBOX, pa.Table.from_pylist(rows, _arrow_schema(CHANGE_COLUMNS)), "message_id")


def requeue(con: BaseBackend, destination: str | None = None, now: datetime | None = None) -> int:
    """Send dead letters again: failed messages go back to pending with a fresh attempt count
    (keeping the error they died of until a new attempt replaces it)."""
    table = outbox(con)
    failed = table.filter(table.status == FAILED)
    if destination is not None:
        failed = failed.filter(failed.destination == destination)
    rows = failed.select("message_id", "last_error").to_pyarrow().to_pylist()
    record(con, [Change(r["message_id"], PENDING, 0, now or datetime.now(), r["last_error"]) for r in rows])
    return len(rows)


def status(con: BaseBackend, destinations: Sequence[str] = ()) -> pd.DataFrame:
    """Per destination: pending, delivered, failed (dead letter) and filtered (no consent) counts,
    the oldest pending message and the latest dead letter's error. Declared but unused destinations show zeros.
    """
    return pd.DataFrame(status_rows(con, destinations), columns=list(COLUMNS))  # rows() creates a missing table


def dead_letters(con: BaseBackend, destination: str | None = None) -> ibis.Table:
    """Failed messages with their attempts and last error, latest first."""
    table = outbox(con)
    failed = table.filter(table.status == FAILED)
    if destination is not None:
        failed = failed.filter(failed.destination == destination)
    return failed.select(
        "message_id", "destination", "topic", "customer_id", "attempts", "last_error", "created_at", "settled_at"
    ).order_by(ibis.desc("settled_at"))


def _arrow_schema(columns: Sequence[str]) -> pa.Schema:
    target = OUTBOX_SCHEMA.to_pyarrow()
    return pa.schema([target.field(c) for c in columns])
