"""The read model's freshness: rebuilt when the knowledge base changes; customers written
through this service since the build are read live (then kept) until the next build."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from segmento.service.live_features import FeatureSQL
from segmento.service.profiles import ReadModel, load, written_parts

if TYPE_CHECKING:
    from segmento.workspace import Workspace


class Host(Protocol):
    """What the read model needs from the service that holds it (``runtime.Service``)."""

    write_lock: AbstractContextManager[Any]

    def clock(self) -> datetime: ...

    def counts(self) -> tuple[int, ...]: ...

    def reader(self) -> AbstractContextManager[Workspace]: ...


class Profiles:
    """The read model of one service, and which customers it cannot answer for yet."""

    def __init__(self, service: Host) -> None:
        self.service = service
        self.model: ReadModel | None = None
        self.token: tuple | None = None
        self.dirty: dict[str, int] = {}  # customer -> generation it was written in
        self.generation = 0
        self.building = threading.Lock()
        self.compiled: FeatureSQL | None = None
        self.overlay: dict[str, dict[str, Any] | None] = {}
        self.erased: dict[str, int] = {}  # customer -> generation it was erased in
        self.lock = threading.Lock()
        self.builds = 0  # models swapped in so far: what is computed ahead follows builds, not each write
        self.rebase = False  # own writes since the token was read: the next check re-reads it

    def ready_for(self, customer_id: str) -> ReadModel | None:
        """The read model if it can answer for this customer now (built, customer not written since)."""
        model = self.model
        return model if model is not None and customer_id not in self.dirty else None

    def get(self, customer_id: str, fresh: bool = False) -> tuple[dict[str, Any] | None, str]:
        """(the customer's 360 or None, 'read-model' | 'live'); ``fresh`` always reads live."""
        model = None if fresh else self.ready_for(customer_id)
        if model is not None:
            return model.get(customer_id), "read-model"
        if not fresh and customer_id in self.overlay:
            return self.overlay[customer_id], "live"
        generation = self.generation
        profile = self.live(customer_id)
        with self.lock:
            if self.dirty.get(customer_id, -1) <= generation and customer_id in self.dirty:
                self.overlay[customer_id] = profile
        return profile, "live"

    def live(self, customer_id: str) -> dict[str, Any] | None:
        """The customer read now. Over the read model's profile only what API writes change
        (features, audiences) is read again; without one, every part."""
        at = self.service.clock()
        with self.service.reader() as ws:
            if self.compiled is None or self.compiled.as_of != at:
                self.compiled = FeatureSQL(ws, at)
            model = self.model
            if model is not None and model.as_of == at and customer_id in model.index:
                return {**model.get(customer_id), **written_parts(ws, customer_id, self.compiled)}
            return load(ws, at, customer_id, self.compiled).get(customer_id)

    def touched(self, customer_ids: list[str]) -> None:
        """Customers written here: read live (then from the overlay) until the next build."""
        with self.lock:
            self.generation += 1
            for customer_id in customer_ids:
                self.dirty[customer_id] = self.generation
                self.overlay.pop(customer_id, None)

    def forget(self, customer_id: str) -> None:
        """An erased customer leaves memory now; the rebuild that follows drops the rest. A new
        generation, so a build that read the base before the erasure cannot bring the customer back."""
        with self.lock:
            self.generation += 1
            if self.model is not None:
                self.model.index.pop(customer_id, None)
            self.dirty[customer_id] = self.erased[customer_id] = self.generation
            self.overlay[customer_id] = None
        self.token = None

    def current_token(self) -> tuple:
        return self.service.counts() + (self.service.clock(),)

    def accept_own_write(self) -> None:
        """Called under the write lock after a write already reflected by touched(). The token is re-read
        by the next :meth:`settle` (counting the tables costs several ms, more than the event itself)."""
        self.rebase = self.token is not None

    def settle(self) -> None:
        """Under the write lock, before any write that is not an own write (and before each check): the
        token takes in the own writes made since it was read, and nothing else."""
        if self.rebase:
            self.token, self.rebase = self.current_token(), False

    def stale(self) -> bool:
        self.settle()
        return self.model is None or self.token != self.current_token()

    def refresh(self) -> ReadModel | None:
        """The model, rebuilt first if the base changed (None only while the first build runs)."""
        with self.service.write_lock:
            stale = self.stale()
        return (self.rebuild() if stale else None) or self.model

    def rebuild(self) -> ReadModel | None:
        """Build a new model and swap it in (one build at a time; None if one is running)."""
        if not self.building.acquire(blocking=False):
            return None
        try:
            with self.service.write_lock:
                token, generation = self.current_token(), self.generation
            with self.service.reader() as ws:
                model = load(ws, self.service.clock())
            with self.lock:
                self.erased = {c: g for c, g in self.erased.items() if g > generation}
                for customer_id in self.erased:  # erased while this build read the base
                    model.index.pop(customer_id, None)
                self.model, self.token, self.rebase = model, token, False  # own writes during it: one more
                self.compiled = None  # compiled again when next needed: the shared tables it read may have changed
                self.builds += 1
                self.dirty = {c: g for c, g in self.dirty.items() if g > generation}
                self.overlay = {c: p for c, p in self.overlay.items() if c in self.dirty}
            return model
        finally:
            self.building.release()
