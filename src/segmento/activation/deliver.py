"""The deliverer: claim due outbox messages, check consent, send, record the outcome.

Nothing is lost: a message leaves ``pending`` only when its outcome is recorded. A claim
only pushes its next attempt forward by a lease, so if the process dies mid-batch the
messages fall due again when the lease ends and go out with the same idempotency key.
The knowledge base is opened to claim and to record, never while sending, so other
processes (CLI, API) can use a DuckDB file between batches.

Run it as a process: ``segmento deliver --until stopped --config segmento.yaml``.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ibis.backends import BaseBackend

from segmento.activation.consent import consenting_ids, refusal
from segmento.activation.destinations import DeliveryError, Sender, open_sender
from segmento.activation.exports import run_due_exports
from segmento.activation.outbox import DELIVERED, FAILED, FILTERED, PENDING, Change, Message, due, next_due, record
from segmento.activation.routing import check_activation, destination, enqueue_alerts, enqueue_audience_changes
from segmento.activation.settings import DestinationBase, RetryPolicy
from segmento.store.backend import open_backend, transaction

if TYPE_CHECKING:
    from segmento.config import Project

Connector = Callable[[], AbstractContextManager[BaseBackend]]
Until = Literal["due", "settled", "stopped"]


def held(con: BaseBackend) -> Connector:
    """Use an open connection for every step (in-process delivery from a Workspace)."""
    return lambda: nullcontext(con)


def reopening(target: str | Path, wait: float = 60.0) -> Connector:
    """Open the knowledge base for each step and close it after, waiting while another process holds it."""

    @contextmanager
    def connect() -> Iterator[BaseBackend]:
        deadline = time.monotonic() + wait
        delay = 0.02
        while True:
            try:
                con = open_backend(target)
                break
            except Exception as exc:  # duckdb.IOException; other engines raise their own
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        try:
            yield con
        finally:
            con.disconnect()

    return connect


@dataclass
class Tally:
    """What happened to one destination's messages."""

    delivered: int = 0
    retried: int = 0  # failed attempts that will be retried
    failed: int = 0  # moved to dead letter
    filtered: int = 0  # held back: no consent at send time
    requests: int = 0
    unavailable: str | None = None  # the sender could not be opened (plug-in missing, secret unset)


@dataclass
class DeliveryReport:
    tallies: dict[str, Tally] = field(default_factory=dict)
    seconds: float = 0.0

    def __str__(self) -> str:
        lines = []
        for name, t in self.tallies.items():
            if t.unavailable:
                lines.append(f"{name}: unavailable, messages kept pending: {t.unavailable}")
            else:
                lines.append(f"{name}: {t.delivered:,} delivered, {t.retried:,} to retry, {t.failed:,} dead letter, "
                             f"{t.filtered:,} without consent ({t.requests:,} requests)")
        return "\n".join(lines + [f"({self.seconds:.1f}s)"])


def backoff(policy: RetryPolicy, attempts: int, jitter: float) -> float:
    """Seconds before the next attempt: exponential, capped, with 'equal jitter' (half fixed, half
    ``jitter`` in [0, 1) of the other half)."""
    ceiling = min(policy.max_backoff, policy.backoff * 2 ** (attempts - 1))
    return ceiling / 2 + jitter * ceiling / 2


class Pacer:
    """At most ``rate`` calls per second, spaced evenly (per destination, per process)."""

    def __init__(
        self, rate: float | None, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = 0.0
        self.clock, self.sleep = clock, sleep

    def wait(self) -> float:
        """Block until the next call may go; returns the clock's time it was let through at."""
        now = self.clock()
        at = max(now, self.next_at)
        if at > now:
            self.sleep(at - now)
        self.next_at = at + self.interval
        return at


class Deliverer:
    """Delivers the outbox of the chosen destinations; reusable across runs, one per process."""

    def __init__(
        self,
        project: Project,
        connect: Connector,
        destinations: Sequence[str] | None = None,
        lease: float = 60.0,
        claim: int = 500,
    ) -> None:
        check_activation(project)
        names = destinations or [d.name for d in project.destinations]
        self.configs = [destination(project, name) for name in names]
        self.connect = connect
        self.lease = lease
        self.claim = claim  # messages per destination per cycle (at least one batch): fewer DB round trips
        self.rng = random.Random()
        self.pacers = {c.name: Pacer(c.rate_limit) for c in self.configs}
        self.senders: dict[str, Sender | DeliveryError] = {}
        self.stop = threading.Event()

    def run(self, until: Until = "due", poll: float = 1.0) -> DeliveryReport:
        """Deliver until nothing is due now ('due'), nothing is pending ('settled') or ``stop`` is set."""
        report = DeliveryReport({c.name: Tally() for c in self.configs})
        started = time.monotonic()
        while not self.stop.is_set():
            claimed, upcoming = self.cycle(report)
            if claimed:
                continue
            if until == "due" or (until == "settled" and upcoming is None):
                break
            pause = poll if upcoming is None else (upcoming - datetime.now()).total_seconds()
            self.stop.wait(min(max(pause, 0.01), poll))
        report.seconds = time.monotonic() - started
        return report

    def cycle(self, report: DeliveryReport) -> tuple[int, datetime | None]:
        """One claim / send / record round; returns messages claimed and, when none, when the next falls due."""
        now = datetime.now()
        claims: list[tuple[DestinationBase, list[Message]]] = []
        upcoming = None
        with self.connect() as con, transaction(con):
            for config in self.configs:
                if self._sender(config, report) is not None:
                    claims.append((config, self._claim(con, config, now, report.tallies[config.name])))
            if not any(messages for _, messages in claims):
                upcoming = next_due(con, [c.name for c, _ in claims])
        changes = [change for config, messages in claims for change in self._send(config, messages, report)]
        if changes:
            with self.connect() as con, transaction(con):
                record(con, changes)
        return sum(len(m) for _, m in claims), upcoming

    def _sender(self, config: DestinationBase, report: DeliveryReport) -> Sender | None:
        if config.name not in self.senders:
            try:
                self.senders[config.name] = open_sender(config)
            except DeliveryError as exc:
                self.senders[config.name] = exc
        sender = self.senders[config.name]
        if isinstance(sender, DeliveryError):
            report.tallies[config.name].unavailable = sender.reason
            return None
        return sender

    def _claim(self, con: BaseBackend, config: DestinationBase, now: datetime, tally: Tally) -> list[Message]:
        """Due messages of one destination: those without consent are settled as filtered, the rest leased."""
        batches = max(1, self.claim // config.batch_size)
        if config.rate_limit:  # no more than the rate limit lets out within half the lease
            batches = min(batches, max(1, int(config.rate_limit * self.lease / 2)))
        messages = due(con, config.name, now, config.batch_size * batches)
        allowed = consenting_ids(con, config, (m.customer_id for m in messages), now)
        kept = [m for m in messages if config.channel is None or m.customer_id in allowed]
        kept_ids = {m.message_id for m in kept}
        reason = refusal(config, now)
        lease_end = now + timedelta(seconds=self.lease)
        record(con, [
            Change(m.message_id, PENDING, m.attempts, lease_end, m.last_error) if m.message_id in kept_ids
            else Change(m.message_id, FILTERED, m.attempts, None, reason, now)
            for m in messages
        ])
        tally.filtered += len(messages) - len(kept)
        return kept

    def _send(self, config: DestinationBase, messages: list[Message], report: DeliveryReport) -> list[Change]:
        """Send in batches. The rest of the claim is released unsent, without using an attempt, when
        the lease is half gone, on stop, or once a batch failed (retried with it: a failing receiver
        is not hammered)."""
        sender = self.senders[config.name]
        tally = report.tallies[config.name]
        changes: list[Change] = []
        started = time.monotonic()
        resume_at: datetime | None = None
        for index in range(0, len(messages), config.batch_size):
            batch = messages[index:index + config.batch_size]
            if resume_at is None and (time.monotonic() - started > self.lease / 2 or self.stop.is_set()):
                resume_at = datetime.now()
            if resume_at is not None:
                changes += [Change(m.message_id, PENDING, m.attempts, resume_at, m.last_error) for m in batch]
                continue
            self.pacers[config.name].wait()
            tally.requests += 1
            try:
                sender.send(batch)
            except Exception as exc:  # DeliveryError, or a plug-in's bug: it must not stop other destinations
                error = exc if isinstance(exc, DeliveryError) else DeliveryError(f"{type(exc).__name__}: {exc}")
                failed = self._failed(config, batch, error, tally)
                changes += failed
                resume_at = min((c.next_attempt_at for c in failed if c.status == PENDING), default=datetime.now())
            else:
                done = datetime.now()
                changes += [Change(m.message_id, DELIVERED, m.attempts + 1, None, m.last_error, done) for m in batch]
                tally.delivered += len(batch)
        return changes

    def _failed(self, config: DestinationBase, batch: list[Message], error: DeliveryError, tally: Tally) -> list[Change]:
        """Retry later with backoff (or the receiver's Retry-After), or dead-letter after max_attempts.

        One jitter draw per batch: its messages fall due together and are retried as one batch again.
        """
        now = datetime.now()
        jitter = self.rng.random()
        changes = []
        for m in batch:
            attempts = m.attempts + 1
            if error.permanent or attempts >= config.retry.max_attempts:
                changes.append(Change(m.message_id, FAILED, attempts, None, error.reason, now))
                tally.failed += 1
            else:
                wait = max(backoff(config.retry, attempts, jitter), error.retry_after or 0.0)
                changes.append(Change(m.message_id, PENDING, attempts, now + timedelta(seconds=wait), error.reason))
                tally.retried += 1
        return changes

    def close(self) -> None:
        for sender in self.senders.values():
            if not isinstance(sender, DeliveryError):
                sender.close()


def catch_up(con: BaseBackend, project: Project) -> int:
    """Queue what producers stored but did not queue (latest alert period, audience changes) and due exports."""
    with transaction(con):
        queued = enqueue_alerts(con, project) + enqueue_audience_changes(con, project)
        run_due_exports(con, project)
    return queued


def deliver(
    target: str | Path | BaseBackend,
    project: Project,
    destinations: Sequence[str] | None = None,
    until: Until = "due",
    lease: float = 60.0,
    poll: float = 1.0,
    queue_first: bool = True,
    out: Callable[[str], None] = print,
) -> DeliveryReport:
    """What ``segmento deliver`` runs: catch up the queue, then deliver with a connection per step.

    With ``until='stopped'`` it keeps going (catching up every ``poll`` seconds) until SIGTERM/SIGINT.
    ``target`` is a DuckDB file (opened per step), or an open connection used throughout (Spark:
    starting a session per step would cost more than the step).
    """
    connect = held(target) if isinstance(target, BaseBackend) else reopening(target)
    deliverer = Deliverer(project, connect, destinations, lease=lease)
    with _graceful(deliverer.stop), closing(deliverer):
        while True:
            if queue_first:
                with connect() as con:
                    catch_up(con, project)
            report = deliverer.run("settled" if until == "settled" else "due", poll)
            if until != "stopped" or deliverer.stop.is_set():
                out(str(report))
                return report
            if any(t.delivered or t.failed or t.filtered for t in report.tallies.values()):
                out(str(report))
            deliverer.stop.wait(poll)


@contextmanager
def _graceful(stop: threading.Event) -> Iterator[None]:
    """SIGTERM/SIGINT finish the current batch and record it instead of killing it (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
