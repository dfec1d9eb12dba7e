"""What the service tests share: the test project, the client, the base's description."""

from __future__ import annotations

import copy
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx

from segmento.config import Project
END = date(2024, 12, 31)
PROJECT = """
name: service-tests
audiences:
  - {name: big_spenders, rule: "spend_12m > 300", description: spent over 300 in a year}
  - {name: tennis_browsers, rule: "viewed(category = 'tennis', within = '30d')"}
  - {name: recent_contacts, rule: "contacted(within = '7d')"}
  - {name: reachable_big_spenders, rule: "in_audience('big_spenders') AND consent_email"}
segmentations:
  - name: value
    kind: tiers
    feature: spend_12m
    tiers:
      - {id: very_good, quantile: 0.75}
      - {id: good, quantile: 0.35}
      - {id: occasional, above: 0}
      - {id: inactive}
  - {name: rfm, kind: rfm}
dynamics:
  rules:
    - {name: slide, segmentation: rfm, from: [champions, loyal], direction: down, kind: negative, journey: win-back}
    - {name: climb, segmentation: value, from: [occasional, inactive], direction: up, kind: positive}
destinations:
  - {name: crm-files, type: file, path: exports}
routes:
  - {name: win-back, alerts: [slide], to: [crm-files]}
"""


@dataclass
class Base:
    """The session's knowledge base: where it is, its project and an API key per role."""

    path: Path
    project: Project
    keys: dict[str, str]
    key_ids: dict[str, str]
    customers: list[str]

    def copy(self, directory: Path) -> Path:
        target = directory / "shop.duckdb"
        shutil.copy(self.path, target)
        return target


class Api:
    """A synchronous face on httpx.AsyncClient + ASGITransport, with the app's lifespan running."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._lifespan = app.router.lifespan_context(app)
        self.portal.call(self._lifespan.__aenter__)
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://segmento.test", timeout=120)
        self.headers: dict[str, str] = {}

    def as_(self, key: str | None) -> Api:
        """The same client sending this key with every request (None: no key)."""
        view = copy.copy(self)
        view.headers = {"X-API-Key": key} if key else {}
        return view

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        try:
            return self.portal.call(partial(self.client.request, method, url, headers=headers, **kwargs))
        finally:
            self.client.cookies.clear()  # a test sends its credentials explicitly, every time

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    @property
    def service(self) -> Any:
        return self.app.state.service

    def wait_for_read_model(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.get("/health").json()["read_model"] != "ready":
            assert time.monotonic() < deadline, "the read model was not built in time"
            time.sleep(0.05)

    def close(self) -> None:
        self.portal.call(self.client.aclose)
        self.portal.call(self._lifespan.__aexit__, None, None, None)
        self._portal_cm.__exit__(None, None, None)


def close(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-9 (sums in a different order differ in the last bits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(database: Path, config: Path, as_of: date = END, timeout: float = 90) -> Iterator[str]:
    """`segmento serve` in its own process on ``database``, once its read model is ready: its URL."""
    port = free_port()
    command = [sys.executable, "-m", "segmento.cli", "serve", "--port", str(port), "--as-of", as_of.isoformat(),
               "--db", str(database), "--config", str(config)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{url}/health").json()["read_model"] == "ready":
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"segmento serve did not start:\n{process.stdout.read() if process.stdout else ''}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # still computing pages ahead on a busy machine: nothing to keep
            process.kill()
            process.wait()
