"""Real time: one event in, that customer's features and memberships updated, changes out.

Per event: check it against the events schema, evaluate the customer at the event's
instant (features by the features stage's SQL on the customer's rows, rules by the
Python compilation of the same AST), then append the event and the enter/exit changes
in one transaction. The result is, by the batch == real-time property, what a batch
evaluation as of the same instant gives for that customer.

The instant is the event's time, or the latest instant already written if that is later
(a late event), so history never goes back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from segmento.audiences.check import EVENT_FIELDS
from segmento.audiences.definitions import AudienceSet
from segmento.audiences.evaluate import FeatureSource, Lookback
from segmento.audiences.history import Change, change_id, last_instant, next_seq
from segmento.audiences.instants import window_start
from segmento.audiences.replica import Replica
from segmento.audiences.slice_features import CustomerFeatures
from segmento.audiences.tables import AUDIENCE_CHANGES, ENTER, EXIT, current_membership
from segmento.audiences.to_python import Compiled, Context, to_python
from segmento.errors import SegmentoError
from segmento.store.engines import engine_of, require
from segmento.store.memory import release_memory
from segmento.store.schema import EVENTS
from segmento.store.tables import ensure_tables

_EVENT_COLUMNS = ("occurred_at", *EVENT_FIELDS)  # what rules read of an event
FUTURE = timedelta(days=1)  # clock skew tolerated on an event's time
EVER = np.datetime64(datetime.min, "us")  # a customer's static rows changed at some instant: always read them


class EventError(SegmentoError):
    """An event that cannot be recorded; says which field and what would be valid."""


def validate_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as a row of the events table, or EventError naming the field at fault."""
    name = f"event {event.get('event_id')!r}" if event.get("event_id") is not None else "event"
    unknown = sorted(set(event) - set(EVENTS.column_names))
    if unknown:
        raise EventError(f"{name}: unknown field {unknown[0]!r}; valid fields: {', '.join(EVENTS.column_names)}")
    row: dict[str, Any] = {}
    for column in EVENTS.columns:
        value = event.get(column.name)
        if value is None:
            if column.required:
                raise EventError(f"{name}: missing required value {column.name!r}")
        elif column.type == "timestamp":
            value = _timestamp(name, column.name, value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # size 43
        elif not isinstance(value, str):
            raise EventError(f"{name}: {column.name} must be text, not {type(value).__name__}")
        if column.allowed and value is not None and value not in column.allowed:
            raise EventError(f"{name}: {column.name} {value!r} is not one of {', '.join(column.allowed)}")
        row[column.name] = value
    return row


def _timestamp(name: str, column: str, value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise EventError(f"{name}: {column} {value!r} is not an ISO timestamp (2024-05-01T10:30:00)") from None
    if not isinstance(value, datetime):
        raise EventError(f"{name}: {column} must be a timestamp, not {type(value).__name__}")
    if value.tzinfo is not None:
        raise EventError(f"{name}: {column} must have no time zone, like the knowledge base's timestamps")
    if value > datetime.now() + FUTURE:  # history only moves forward: one bad clock would freeze it
        raise EventError(f"{name}: {column} {value:%Y-%m-%d %H:%M:%S} is in the future")
    return value


class Realtime:
    """The per-event path for a fixed set of audiences (rebuilt when definitions change)."""

    def __init__(self, con: BaseBackend, audiences: AudienceSet, source: FeatureSource,
                 lookback: Lookback | None = None) -> None:
        require(con, "transactions", "update audience memberships per event (an event and its changes are written "
                "together)", "push events to a DuckDB knowledge base")
        self.con = con
        self.names = audiences.names
        self.feature_names = audiences.fields(self.names)
        self.windows = [node.window for node in audiences.event_counts(self.names)]
        compiled: dict[str, Compiled] = {}

        def predicate(name: str) -> Compiled:
            if name not in compiled:
                compiled[name] = to_python(audiences.rules[name], predicate)
            return compiled[name]

        self.predicates = [predicate(name) for name in self.names]
        self.features = CustomerFeatures(con, source, self.feature_names, lookback)
        self.replica: Replica | None = None
        self.members: np.ndarray | None = None
        self.clock: datetime | None = None
        self.seq = 1
        self.seconds: list[float] = []  # wall-clock per pushed event, for benchmarks
        self.cpu_seconds: list[float] = []  # CPU per pushed event: what the event costs on a machine of its own

    # -- state --------------------------------------------------------------------------

    def _ready(self, occurred_at: datetime) -> tuple[Replica, datetime]:
        """The replica and membership state, (re)built on first use or when the base changed, and the
        instant an event at ``occurred_at`` is evaluated at: never before the clock (history moves forward)."""
        if self.replica is not None and self.replica.stale(self.con):
            self.replica = None
        if self.replica is None or self.members is None:
            self.clock, self.seq = last_instant(self.con), next_seq(self.con)  # a refresh may have written history
        at = occurred_at if self.clock is None else max(occurred_at, self.clock)
        if self.replica is None or at < self.replica.floor:
            self.replica = None  # the old copy goes before the new one is read
            self.replica = self._replica(at if self.clock is None else self.clock)
            self.features.day = None
            self.members = None
            release_memory()  # what the load read and sorted, handed back
        if self.members is None:
            self._load_members()
        return self.replica, at

    def _replica(self, floor: datetime) -> Replica:
        """A copy exact for every evaluation at or after ``floor``: the events the rules count and the
        tables the dynamic features read, from the earliest row one of them looks at."""
        ensure_tables(self.con)
        columns = self.features.columns(floor)
        columns["events"] = list(dict.fromkeys([*columns.get("events", []), *_EVENT_COLUMNS]))
        columns["customers"] = list(dict.fromkeys([*columns.get("customers", []), "customer_id"]))
        starts = [window_start(floor, window) for window in self.windows] + [self.features.since(floor, "events")]
        since = None if None in starts else min(starts)
        held = self.features.dynamic.tables | {"events"}
        return Replica(self.con, {t: c for t, c in columns.items() if c}, held, {"events": since}, floor)

    def _load_members(self) -> None:
        """Open memberships from history, as a customers x audiences matrix; the clock and next seq."""
        assert self.replica is not None
        held = current_membership(self.con.table("audience_changes")).to_pyarrow()
        self.members = np.zeros((len(self.replica.customer_ids), len(self.names)), dtype=bool)
        rows = pc.index_in(held.column("customer_id"), value_set=self.replica.customer_ids)
        columns = pc.index_in(held.column("audience"), value_set=pa.array(self.names, pa.string()))
        known = pc.and_(pc.is_valid(rows), pc.is_valid(columns))  # customers erased, audiences dropped
        self.members[pc.filter(rows, known).to_numpy(), pc.filter(columns, known).to_numpy()] = True

    def reset(self) -> None:
        """History was written by someone else (a refresh): reload memberships, clock and seq."""
        self.members = None

    def ingested(self, table: str, customers: Iterable[str]) -> None:
        """This process's ingestion run wrote rows of ``table`` for ``customers``. A table the state does
        not copy (orders, order lines, consents) leaves the copy as it is: those customers' static
        features are computed from their rows for the rest of the day, where the next event would have
        read everything again (about 10 s at 1M customers, after every order sent through the API).
        Another run since the copy, or a table it holds, still has the next event read it again."""
        replica, day = self.replica, self.features.day
        if replica is None or table == "customers" or table in replica.tables:
            return
        counts = replica.table_counts(self.con)
        if counts[0] != replica.counts[0] + 1:
            return
        replica.counts = (counts[0], *replica.counts[1:])
        if day is not None:
            day.moved[[replica.index[c] for c in customers if c in replica.index]] = EVER

    def warm(self, at: datetime) -> None:
        replica, at = self._ready(at)
        if self.features.by_day(at.date()):
            self.features.prepare(at.date(), replica.customer_ids)

    def advance(self, at: datetime) -> None:
        self.clock = at if self.clock is None else max(self.clock, at)

    # -- one event ----------------------------------------------------------------------

    def push(self, event: Mapping[str, Any]) -> list[Change]:
        """Record ``event`` and return the enter/exit changes it caused (none for a repeat)."""
        started, cpu = time.perf_counter(), time.process_time()
        row = validate_event(event)
        replica, at = self._ready(row["occurred_at"])
        customer = replica.index.get(row["customer_id"])
        if customer is None:
            unknown = row["customer_id"]
            raise EventError(f"event {row['event_id']!r}: unknown customer_id {unknown!r} (not in customers)")
        if replica.holds_event(customer, row["event_id"]):
            return []  # already recorded
        rows = replica.customer(customer)
        held = {**replica.row("events", row), "customer_id": row["customer_id"]}
        added = pa.Table.from_pylist([held], schema=rows["events"].schema)
        rows["events"] = pa.concat_tables([rows["events"], added])
        now = self.evaluate(replica, customer, rows, at)
        changes = self._changes(customer, now, at, f"event:{row['event_id']}")
        self._write(row, changes)
        replica.push("events", customer, row)
        self.members[customer] = now
        self.seq += len(changes)
        self.advance(at)
        self.seconds.append(time.perf_counter() - started)
        self.cpu_seconds.append(time.process_time() - cpu)
        return changes

    def evaluate(self, replica: Replica, customer: int, rows: Mapping[str, pa.Table], at: datetime) -> np.ndarray:
        """The customer's membership of every audience at ``at`` (False where the rule is not TRUE)."""
        features = self.features.compute(customer, replica.customer_ids, rows, at)
        if features is None:  # not a customer yet at `at`
            return np.zeros(len(self.names), dtype=bool)
        events = rows["events"].select(list(_EVENT_COLUMNS)).to_pylist() if self.windows else []
        context = Context(features, events, at)
        return np.array([predicate(context) is True for predicate in self.predicates], dtype=bool)

    def _changes(self, customer: int, now: np.ndarray, at: datetime, reason: str) -> list[Change]:
        assert self.members is not None and self.replica is not None
        customer_id = self.replica.customer_ids[customer].as_py()
        changes = []
        for j in np.flatnonzero(now != self.members[customer]):
            kind = ENTER if now[j] else EXIT
            audience = self.names[j]
            changes.append(
                Change(change_id(reason, audience, customer_id, kind), self.seq + len(changes), customer_id,
                       audience, kind, at, reason)
            )
        return changes

    def _write(self, row: dict[str, Any], changes: list[Change]) -> None:
        """The event and its changes, all or nothing."""
        engine = engine_of(self.con)
        recorded = datetime.now()
        with engine.transaction() if changes else nullcontext():  # one statement commits alone
            engine.insert_rows("events", EVENTS.column_names, [[row[c] for c in EVENTS.column_names]])
            if changes:
                engine.insert_rows("audience_changes", AUDIENCE_CHANGES.names, [  # why: the event (reason) explains it
                    [c.change_id, c.seq, c.customer_id, c.audience, c.kind, c.at, c.reason, recorded, None]
                    for c in changes
                ])
