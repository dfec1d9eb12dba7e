"""Service: customer-360 lookups per second and latency over HTTP, and event -> membership
update latency over HTTP.

`segmento serve` (uvicorn, one process) runs on a copy of the features benchmark's base
(scale 1.0 = 1M customers), with two segmentations snapshotted and four audiences; the
load generator is this process (a second one), on loopback: keep-alive connections,
bounded in requests and in time. The baseline is the same endpoint answering from the
knowledge base on every request (``?fresh=true``: the queries a straightforward service
would run), on the same server.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import numpy as np

import segmento
from benchmarks.bench_features import _knowledge_base
from benchmarks.common import section, timed
from segmento.config import parse_project
from segmento.service import keys as api_keys

AS_OF = date(2024, 12, 31)
EVENTS_UP_TO_SCALE = 0.2  # the real-time state's memory grows with the base (see bench_audiences)
PROJECT = """
audiences:
  - {name: big_spenders, rule: "spend_12m > 500"}
  - {name: tennis_browsers, rule: "viewed(category = 'tennis', within = '30d')"}
  - {name: recent_contacts, rule: "contacted(within = '7d')"}
  - {name: web_lovers, rule: "share_web_12m > 0.5"}
segmentations:
  - name: value
    kind: tiers
    feature: spend_12m
    tiers:
      - {id: very_good, quantile: 0.8}
      - {id: good, quantile: 0.4}
      - {id: occasional, above: 0}
      - {id: inactive}
  - {name: rfm, kind: rfm}
"""


@dataclass
class Load:
    """What one load run measured."""

    requests: int
    seconds: float
    latencies: np.ndarray  # seconds
    errors: int

    def __str__(self) -> str:
        ms = self.latencies * 1000
        return (f"{self.requests / self.seconds:>9,.0f} req/s  p50 {np.percentile(ms, 50):6.2f} ms  "
                f"p95 {np.percentile(ms, 95):6.2f} ms  p99 {np.percentile(ms, 99):6.2f} ms  "
                f"({self.requests:,} requests in {self.seconds:.1f} s, {self.errors} errors)")


def run(scale: float = 0.1) -> None:
    customers = max(1000, int(1_000_000 * scale))
    with section(f"service: customer 360 over HTTP, {customers:,} customers, uvicorn on loopback"), \
            tempfile.TemporaryDirectory() as tmp:
        path, config, keys, ids = _prepare(Path(tmp), customers)
        port = _free_port()
        log = (Path(tmp) / "server.log").open("w")
        server = subprocess.Popen(
            [sys.executable, "-m", "segmento.cli", "serve", "--port", str(port), "--as-of", AS_OF.isoformat(),
             "--db", str(path), "--config", str(config)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            started = time.perf_counter()
            try:
                _wait_ready(url, server)
            except RuntimeError:
                print((Path(tmp) / "server.log").read_text())
                raise
            model = httpx.post(f"{url}/api/read-model/refresh", headers={"X-API-Key": keys["admin"]}, timeout=600).json()
            print(f"  server up with its read model in {time.perf_counter() - started:.1f} s "
                  f"(read model build {model['seconds']:.1f} s for {model['customers']:,} customers); "
                  f"server RSS {_rss_mb(server.pid):,.0f} MB")
            read = {"X-API-Key": keys["read"]}
            paths = [f"/api/customers/{random.Random(i).choice(ids)}" for i in range(50_000)]
            asyncio.run(_load(port, paths[:500], read, 8, 500, 30))  # warm-up
            floor = asyncio.run(_load(port, ["/health"] * 20_000, {}, 16, 20_000, 20))
            print(f"  GET /health (framework floor)          {floor}")
            fast = asyncio.run(_load(port, paths, read, 16, 30_000, 30))
            print(f"  GET 360 from the read model            {fast}")
            live = asyncio.run(_load(port, [p + "?fresh=true" for p in paths], read, 4, 400, 30))
            print(f"  GET 360 ?fresh=true (queries, baseline) {live}")
            ratio = (fast.requests / fast.seconds) / (live.requests / live.seconds)
            print(f"  ratio: {ratio:,.0f}x the baseline's throughput; "
                  f"p95 {np.percentile(live.latencies, 95) / np.percentile(fast.latencies, 95):,.0f}x lower")
            print(f"  server RSS after the load {_rss_mb(server.pid):,.0f} MB")
            if scale <= EVENTS_UP_TO_SCALE:
                _events(url, keys, ids)
            else:  # the stage's real-time state would be built inside the server: see bench_audiences
                print(f"  POST /api/events skipped above scale {EVENTS_UP_TO_SCALE}: at 1M customers the first event "
                      "took the server past 20 GB (the audiences stage's real-time state beside the read model)")
        finally:
            server.terminate()
            server.wait(timeout=60)
            log.close()


def _prepare(directory: Path, customers: int) -> tuple[Path, Path, dict[str, str], list[str]]:
    """A copy of the base with fitted segmentations, three snapshots, recorded audiences, keys."""
    path = directory / "shop.duckdb"
    shutil.copy(_knowledge_base(customers), path)
    config = directory / "segmento.yaml"
    config.write_text(PROJECT)
    with segmento.connect(path, parse_project(PROJECT)) as ws:
        for name in ("value", "rfm"):
            ws.fit_segmentation(name, AS_OF)
        _, seconds = timed(lambda: ws.backfill("2024-10", "2024-12"))
        _, refresh = timed(lambda: ws.refresh_audiences(AS_OF))
        print(f"  setup (not measured): 3 snapshots in {seconds:.0f} s, audience refresh in {refresh:.0f} s")
        keys = {role: api_keys.create_key(ws.con, role, [role])[0] for role in ("read", "write", "admin")}
        ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
    return path, config, keys, ids


async def _load(port: int, paths: list[str], headers: dict[str, str], connections: int, limit: int,
                seconds: float) -> Load:
    """``limit`` GETs at most, for ``seconds`` at most, over ``connections`` keep-alive connections."""
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:  # pragma: no cover
        pass
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    requests = [f"GET {p} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode() for p in paths]
    latencies: list[float] = []
    errors = 0
    next_request = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal next_request, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while next_request < limit and time.perf_counter() < deadline:
            request = requests[next_request % len(requests)]
            next_request += 1
            began = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            errors += head[9:12] != b"200"
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return Load(len(latencies), time.perf_counter() - began, np.array(latencies), errors)


def _events(url: str, keys: dict[str, str], ids: list[str], count: int = 300, budget: float = 120) -> None:
    """POST /api/events one at a time (at most ``count``, for ``budget`` seconds at most): the
    event recorded and the customer's memberships updated; then that customer's 360, which
    reads the written parts again (features, audiences) over the read model."""
    rng = random.Random(7)
    with httpx.Client(base_url=url, timeout=600) as client:
        def post(i: int, customer: str) -> httpx.Response:
            event = {"event_id": f"bench-{i}", "customer_id": customer, "occurred_at": f"{AS_OF}T12:00:00",
                     "type": "product_view", "channel": "web", "category": rng.choice(["tennis", "running", "yoga"])}
            return client.post("/api/events", json=event, headers={"X-API-Key": keys["write"]})

        first, warm = timed(lambda: post(0, ids[0]))  # builds the stage's real-time state
        writes, reads, changes = [], [], 0
        deadline = time.perf_counter() + budget
        while len(writes) < count and time.perf_counter() < deadline:
            customer = rng.choice(ids)
            response, seconds = timed(lambda c=customer: post(len(writes) + 1, c))
            writes.append(seconds)
            changes += len(response.json().get("changes") or [])
            _, seconds = timed(lambda c=customer: client.get(f"/api/customers/{c}", headers={"X-API-Key": keys["read"]}))
            reads.append(seconds)
    for label, values in (("POST /api/events, one at a time", writes), ("GET 360 right after (written parts)", reads)):
        ms = np.array(values) * 1000
        print(f"  {label:<39} p50 {np.percentile(ms, 50):7.2f} ms  p95 {np.percentile(ms, 95):7.2f} ms  ({len(ms)} requests)")
    print(f"    {changes} membership changes; the first event took {warm:.1f} s (status {first.status_code}): "
          "it loads the real-time state")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, server: subprocess.Popen, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("segmento serve exited")
        try:
            if httpx.get(f"{url}/health").json()["read_model"] == "ready":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("the read model was not built in time")


def _rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    run(float(os.environ.get("BENCH_SCALE", "0.1")))
