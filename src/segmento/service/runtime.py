"""What one service process holds: the workspace, a reader per thread, one writer, the
customer-360 read model, the API keys and the audit buffer.

DuckDB connections are not shared between threads: each request thread reads through
its own cursor of the same database (MVCC, so readers never block each other or the
writer), and every write goes through the one workspace under a lock (the real-time
audience state is a single object). Other engines get the one workspace under the lock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, TypeVar

import pyarrow as pa

from segmento.service import keys as api_keys
from segmento.service.freshness import Profiles
from segmento.store.asof import AsOf
from segmento.store.backend import append
from segmento.store.engines import engine_of, require
from segmento.store.compact import CompactReport, FileInUse
from segmento.store.registry import AUDIT
from segmento.workspace import Workspace

T = TypeVar("T")
READS_DRAIN_SECONDS = 30  # a compaction waits this long for reads in flight before giving up
CACHED_RESULTS = 64  # portraits, matrices, paths, sections kept per service
WATCHED = (  # a change in any of these row counts means the read model is out of date
    "customers", "orders", "order_lines", "events", "consents", "segment_snapshots", "audience_changes",
    "segmentation_models", "erased_customers",
)


class AuditBuffer:
    """Audit rows collected in memory and written in batches.

    One INSERT per request would cap lookups at a few hundred a second and double the
    cost of a pushed event; reads and event/order writes are flushed every second (a
    crash loses at most that second of records; the written rows themselves are
    committed). GDPR actions and key changes are recorded synchronously.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, actor: str, action: str, target: str | None = None, details: dict | None = None) -> None:
        row = {"at": datetime.now(), "actor": actor, "action": action, "target": target,
               "details": json.dumps(details or {}, default=str)}
        with self.lock:
            self.rows.append(row)

    def flush(self, ws: Workspace) -> int:
        with self.lock:
            rows, self.rows = self.rows, []
        if rows:
            schema = AUDIT.schema.to_pyarrow()
            append(ws.con, AUDIT.name, pa.Table.from_pylist(rows, schema=schema))
        return len(rows)


class KeyRing:
    """The API keys in memory, reloaded when changed here or every few seconds."""

    def __init__(self, service: Service, ttl: float = 5.0) -> None:
        self.service = service
        self.ttl = ttl
        self.loaded_at = 0.0
        self.keys: dict[str, api_keys.ApiKey] = {}

    def find(self, key: str) -> api_keys.ApiKey | None:
        if time.monotonic() - self.loaded_at > self.ttl:
            self.reload()
        return api_keys.verify(key, self.keys)

    def reload(self) -> None:
        with self.service.reader() as ws:
            self.keys = {k.key_id: k for k in api_keys.list_keys(ws.con)}
        self.loaded_at = time.monotonic()


def table_counts(ws: Workspace, names: tuple[str, ...]) -> tuple[int, ...]:
    """Row counts (-1: no such table), from the engine's metadata where it can: this runs after every
    write, so it must cost a millisecond or two, not an Ibis compile."""
    return engine_of(ws.con).row_counts(names)


class Service:
    """One serving process over one workspace."""

    def __init__(self, ws: Workspace, as_of: date | datetime | None = None, refresh_seconds: float = 2.0,
                 read_model: bool = True) -> None:
        require(ws.con, "transactions", "serve the API (an event and the audience changes it causes are written together)",
                "serve a DuckDB file (segmento serve --db shop.duckdb)")
        self.ws = ws
        self.pinned = instant(as_of) if as_of is not None else None
        self.refresh_seconds = refresh_seconds
        self.use_read_model = read_model
        self.write_lock = threading.RLock()
        self.local = threading.local()
        self.readers: list[Workspace] = []
        self.readers_lock = threading.Lock()
        self.epoch = 0  # bumped when stop() closes the readers; a thread then opens a new one
        self.keys = KeyRing(self)
        self.audit = AuditBuffer()
        self.profiles = Profiles(self)
        self.results: dict[tuple, tuple[tuple, Any]] = {}
        self.results_lock = threading.Lock()
        self.stop_event = threading.Event()
        self.warmers: list[Callable[[Service], object]] = []  # run after each read model build (dashboard pages)
        self.warmed_for: int | None = None  # the read model build the warmers last ran after
        self.worker: threading.Thread | None = None
        self.gate = threading.Condition()  # readers in flight; a compaction waits for none and holds new ones
        self.active_readers = 0
        self.pausing = False
        self.compacted_on: date | None = None
        api_keys.keys_table(ws.con)
        ws.pseudonyms  # noqa: B018 - the audit log's keyed pseudonyms: secret read (or created) once, at start

    def clock(self) -> datetime:
        """The service's 'now': pinned (replayed or demo data), else the end of today.

        Feature windows are whole days, so the end of today sees what 'now' sees, and the
        features query compiles once a day instead of once a second.
        """
        return self.pinned or instant(date.today())

    def counts(self, names: tuple[str, ...] = WATCHED) -> tuple[int, ...]:
        with self.reader() as ws:
            return table_counts(ws, names)

    # ---- connections ------------------------------------------------------------------

    @contextmanager
    def reader(self) -> Iterator[Workspace]:
        """This thread's workspace over its own DuckDB cursor (the shared one, locked, elsewhere)."""
        if self.ws.con.name != "duckdb":
            with self.write_lock:
                yield self.ws
            return
        depth = getattr(self.local, "depth", 0)
        if depth:  # nested in this thread's own read: already counted
            yield self._reader()
            return
        with self.gate:
            while self.pausing:
                self.gate.wait()
            self.active_readers += 1
        self.local.depth = 1
        try:
            yield self._reader()
        finally:
            self.local.depth = 0
            with self.gate:
                self.active_readers -= 1
                self.gate.notify_all()

    def _reader(self) -> Workspace:
        ws = getattr(self.local, "ws", None)
        if ws is None or self.local.epoch != self.epoch:  # none yet, or closed by a stop() since
            backend = engine_of(self.ws.con).reader()
            ws = self.local.ws = Workspace(backend, self.ws.project)
            self.local.epoch = self.epoch
            with self.readers_lock:
                self.readers.append(ws)
        return ws

    @contextmanager
    def writer(self, own: bool = False) -> Iterator[Workspace]:
        """The workspace under the write lock. ``own``: a write the read model follows customer by customer
        (events, orders through the API); any other write first settles the model's token, so that the
        next check sees it as a change of the base."""
        with self.write_lock:
            if not own:
                self.profiles.settle()
            yield self.ws

    # ---- results that only change with the data ----------------------------------------

    def cached(self, key: tuple, compute: Callable[[], T], depends: tuple[str, ...] = WATCHED) -> T:
        """``compute()`` once per state of the tables it ``depends`` on (portraits: seconds on a large base)."""
        token = (self.counts(depends), self.clock())
        held = self.results.get(key)
        if held is not None and held[0] == token:
            return held[1]
        value = compute()
        with self.results_lock:
            self.results.pop(key, None)
            self.results[key] = (token, value)
            while len(self.results) > CACHED_RESULTS:  # any date can be asked: keep the most recent
                self.results.pop(next(iter(self.results)))
        return value

    # ---- background: read model freshness, audit flushes --------------------------------

    def start(self) -> None:
        if self.worker is None:
            self.stop_event.clear()
            self.worker = threading.Thread(target=self._loop, name="segmento-service", daemon=True)
            self.worker.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self.worker is not None:
            self.worker.join(timeout=60)
            self.worker = None
        self.flush()
        self._close_readers()

    def _close_readers(self) -> None:
        with self.readers_lock:
            self.epoch += 1
            for ws in self.readers:
                ws.con.disconnect()
            self.readers.clear()

    def compact(self) -> CompactReport:
        """Rewrite the database file (physical erasure): new reads wait, those in flight finish, every
        cursor closes for the swap, and the read model is rebuilt over the new file."""
        with self.write_lock:
            self.flush()
            with self.gate:
                self.pausing = True
                if not self.gate.wait_for(lambda: not self.active_readers, timeout=READS_DRAIN_SECONDS):
                    self.pausing = False
                    self.gate.notify_all()
                    raise FileInUse(f"reads in flight did not finish within {READS_DRAIN_SECONDS}s; "
                                    "run `segmento gdpr compact` later")
            try:
                self._close_readers()
                report = self.ws.compact()
            finally:
                with self.gate:
                    self.pausing = False
                    self.gate.notify_all()
            self.profiles.token = None
            self.results.clear()
        return report

    def compaction_due(self, now: datetime) -> bool:
        """Once a day at ``gdpr.compact_at`` (HH:MM), when erasures are pending."""
        at = self.ws.project.gdpr.compact_at
        if at is None or self.compacted_on == now.date() or now.strftime("%H:%M") < at:
            return False
        self.compacted_on = now.date()
        with self.writer() as ws:
            return bool(ws.pending_erasures())

    def flush(self) -> None:
        with self.writer() as ws:
            self.audit.flush(ws)

    def _loop(self) -> None:
        while True:
            try:
                self.flush()
                if self.ws.con.name == "duckdb" and self.compaction_due(datetime.now()):
                    print(f"segmento service: scheduled compaction: {self.compact()}", flush=True)
                if self.use_read_model:
                    self.profiles.refresh()
                if self.warmers and self.warmed_for != self.profiles.builds:  # after a build, not after each
                    build = self.profiles.builds  # event: pages computed on every write stalled the events
                    try:
                        for warm in self.warmers:
                            warm(self)
                    finally:  # done (or failed, said below): not retried before the next build
                        self.warmed_for = build
            except Exception as exc:  # noqa: BLE001 - keep serving; the next round retries
                print(f"segmento service: background refresh failed: {exc!r}", flush=True)
            if self.stop_event.wait(self.refresh_seconds):
                return


def instant(value: date | datetime) -> datetime:
    """The last instant visible as of ``value`` (a date means the end of that day)."""
    return AsOf.of(value).last
