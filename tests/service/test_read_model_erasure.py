"""A read-model build that read the base before an erasure must not bring the erased customer
back, neither from memory nor through a fresh read (it raced the erasure in CI: the service
rebuilds in the background every fraction of a second)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from pathlib import Path

import pytest
from service_support import END, Base

import segmento
from segmento.service.freshness import Profiles
from segmento.workspace import Workspace


class RacingHost:
    """The read model's host over two real copies of the base: the build reads the copy taken
    before the erasure, and only once the erasure has happened; everything after reads the other."""

    def __init__(self, before: Workspace, after: Workspace) -> None:
        self.write_lock = threading.RLock()
        self.before, self.after = before, after
        self.token_taken, self.erased = threading.Event(), threading.Event()
        self.build_reads_before = True

    def clock(self) -> datetime:
        return datetime.combine(END, time.max)

    def counts(self) -> tuple[int, ...]:
        if threading.current_thread() is not threading.main_thread():
            self.token_taken.set()
        return ()

    @contextmanager
    def reader(self) -> Iterator[Workspace]:
        if self.build_reads_before and threading.current_thread() is not threading.main_thread():
            self.erased.wait(timeout=60)
            yield self.before
        else:
            yield self.after


def mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.fixture()
def host(base: Base, tmp_path) -> Iterator[RacingHost]:
    with segmento.connect(base.copy(mkdir(tmp_path / "before")), base.project) as before, \
            segmento.connect(base.copy(mkdir(tmp_path / "after")), base.project) as after:
        yield RacingHost(before, after)


def test_a_build_that_read_before_the_erasure_does_not_bring_the_customer_back(host: RacingHost, base: Base) -> None:
    customer = base.customers[40]
    profiles = Profiles(host)
    build = threading.Thread(target=profiles.rebuild)
    build.start()  # it takes its token and generation, then reads the base once the erasure is done
    assert host.token_taken.wait(timeout=60)
    host.after.forget(customer, compact=False)
    profiles.forget(customer)
    host.erased.set()
    build.join(timeout=120)
    host.build_reads_before = False

    assert customer in {row["customer_id"] for row in host.before.table("customers").to_pyarrow().to_pylist()}
    assert profiles.model is not None and base.customers[41] in profiles.model.index  # the build did land
    assert profiles.get(customer) == (None, "live")
    assert profiles.get(customer, fresh=True) == (None, "live")
    assert profiles.get(base.customers[41])[0]["customer_id"] == base.customers[41]
