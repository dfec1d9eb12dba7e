"""Service: customer-360 lookups per second and latency over HTTP, and event -> membership
latency over HTTP alone and under a mixed read/write load, with the server's peak memory.

`segmento serve` (uvicorn, one process: a DuckDB file has one writing process) runs on a copy
of the features benchmark's base (scale 1.0 = 1M customers), with two segmentations
snapshotted and four audiences; the load generator is this process (a second one), on
loopback. The same measures run against the previous setup in the same run: the service as
it was at ``BENCH_SERVICE_BASELINE`` (a git revision, default below; set it empty to skip),
served from a copy of that revision's sources on the same base and the same load. The
baseline of the 360 itself is the same endpoint answering from the knowledge base on every
request (``?fresh=true``: the queries a straightforward service would run). Before serving, in
this process: what such a live read costs, one customer's features by the customer's rows alone
beside the whole features query filtered on the customer.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path

import httpx
import numpy as np

import segmento
from benchmarks import http_load
from benchmarks.bench_features import CACHE, _knowledge_base
from benchmarks.common import section, timed
from segmento.config import parse_project
from segmento.service import keys as api_keys
from segmento.service.live_features import FeatureSQL
from segmento.store.engines import engine_of

AS_OF = date(2024, 12, 31)
BASELINE = os.environ.get("BENCH_SERVICE_BASELINE", "6dce09c")  # main before live reads used the customer's rows alone
BASELINE_MEMORY = "1GB"  # the previous setup's engine limit (b133320, which read the 1M features whole, needed 4GB)
CATEGORIES = ("tennis", "running", "yoga", "camping", "cycling", "ski", "swimming", "football")
AUDIENCES = [  # 20, as a brand's channels would hold
    *(f'  - {{name: spend_over_{n}, rule: "spend_12m > {n}"}}' for n in (100, 300, 500, 1000, 2000)),
    *(f"  - {{name: {c}_browsers, rule: \"viewed(category = '{c}', within = '30d')\"}}" for c in CATEGORIES),
    *(f'  - {{name: contacted_{d}d, rule: "contacted(within = \'{d}d\')"}}' for d in (7, 30)),
    '  - {name: web_lovers, rule: "share_web_12m > 0.5"}',
    '  - {name: app_lovers, rule: "share_app_12m > 0.5"}',
    '  - {name: store_lovers, rule: "share_store_12m > 0.5"}',
    '  - {name: loyal_reachable, rule: "orders_12m >= 4 AND consent_email"}',
    '  - {name: lapsing, rule: "recency_days > 180 AND orders_lifetime >= 2"}',
]
PROJECT = "audiences:\n" + "\n".join(AUDIENCES) + """
engine:
  memory_limit: 1GB  # what this version serves 1M customers with (whole-base reads in slices of customers)
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
READ_RATE, WRITE_RATE, MIXED_SECONDS = 300, 20, 30  # channels reading while events come in
LIVE_CUSTOMERS = 60  # customers whose features are read live, each both ways


def run(scale: float = 0.1) -> None:
    customers = max(1000, int(1_000_000 * scale))
    with section(f"service: customer 360 and events over HTTP, {customers:,} customers, 20 audiences, uvicorn on "
                 "loopback, load from this process"), tempfile.TemporaryDirectory() as tmp:
        path, config, keys, ids = _prepare(Path(tmp), customers)
        _one_customer(path, ids)
        setups = {"this version (engine 1GB)": (None, config)}
        previous = _sources(BASELINE, Path(tmp)) if BASELINE else None
        if previous is not None:
            limited = Path(tmp) / "previous.yaml"
            limited.write_text(PROJECT.replace("memory_limit: 1GB", f"memory_limit: {BASELINE_MEMORY}"))
            setups = {f"previous ({BASELINE}, engine {BASELINE_MEMORY})": (previous, limited), **setups}
        found = {}
        for label, (sources, setup) in setups.items():
            copy = Path(tmp) / f"{len(found)}.duckdb"  # each setup its own copy: the events one wrote stay its own
            shutil.copy(path, copy)
            print(f"  -- {label}")
            with _served(copy, setup, sources, keys) as (port, pid):
                found[label] = _measure(port, pid, keys, ids, baseline=sources is None)
        _summary(found)


def _one_customer(path: Path, ids: list[str]) -> None:
    """What a live 360 costs (a customer written since the build, ``?fresh=true``): one customer's features
    now, by the features SQL on that customer's rows alone, beside the engine running the whole features
    query filtered on the customer (the live path before); the same customers, in turn first."""
    at = datetime.combine(AS_OF, dt_time.max)
    with segmento.connect(path, parse_project(PROJECT)) as ws:
        alone, compiled = timed(lambda: FeatureSQL(ws, at))
        engine = engine_of(ws.con)
        whole, compiling = timed(lambda: engine.prepare_lookup(ws.features(at), "customer_id"))
        new, old = [], []
        for i, customer in enumerate(random.Random(5).sample(ids, LIVE_CUSTOMERS)):
            ways = [(new, lambda: alone.one(ws, customer)), (old, lambda: engine.run_lookup(whole, customer))]
            for found, way in ways if i % 2 else ways[::-1]:
                found.append(timed(way)[1] * 1000)
    for label, found, setup in (("the customer's rows alone", new, compiled), ("whole query, filtered", old, compiling)):
        print(f"  one customer's features, {label:<26} p50 {np.percentile(found, 50):7.1f} ms  p95 "
              f"{np.percentile(found, 95):7.1f} ms  max {max(found):7.1f} ms  ({LIVE_CUSTOMERS} customers; compiled in {setup:.1f} s)")
    print(f"    ratio: p50 {np.percentile(old, 50) / np.percentile(new, 50):.1f}x, p95 "
          f"{np.percentile(old, 95) / np.percentile(new, 95):.1f}x faster")


def _measure(port: int, pid: int, keys: dict[str, str], ids: list[str], baseline: bool) -> dict[str, object]:
    read = {"X-API-Key": keys["read"]}
    rng = random.Random(1)
    paths = [f"/api/customers/{rng.choice(ids)}" for _ in range(50_000)]
    lookups = [http_load.get(p, read) for p in paths]
    http_load.saturate(port, lookups[:500], 8, 500, 30)  # warm-up
    floor = http_load.saturate(port, [http_load.get("/health", {})], 16, 20_000, 20)
    print(f"  GET /health (framework floor)            {floor}")
    fast = http_load.saturate(port, lookups, 16, 30_000, 30)
    print(f"  GET 360 from the read model              {fast}")
    if baseline:
        live = http_load.saturate(port, [http_load.get(p + "?fresh=true", read) for p in paths], 4, 400, 30)
        print(f"  GET 360 ?fresh=true (queries, baseline)  {live}")
        print(f"    ratio: {fast.rate / live.rate:,.0f}x the baseline's throughput; p95 {live.ms(95) / fast.ms(95):,.0f}x lower")
    result: dict[str, object] = {"360": fast, **_events(port, pid, keys, ids, lookups)}
    result["rss"] = http_load.rss_mb(pid, "VmHWM")
    print(f"  server peak RSS {result['rss']:,.0f} MB")
    return result


def _events(port: int, pid: int, keys: dict[str, str], ids: list[str], lookups: list[bytes]) -> dict[str, object]:
    """Events one at a time (the first loads the real-time state), then under the mixed load."""
    write = {"X-API-Key": keys["write"]}
    rng = random.Random(7)
    stamp = time.time_ns()  # event ids unique to this run

    def event(i: int) -> bytes:
        body = {"event_id": f"bench-{stamp}-{i}", "customer_id": rng.choice(ids), "occurred_at": f"{AS_OF}T12:00:00",
                "type": "product_view", "channel": "web", "category": rng.choice(CATEGORIES)}
        return http_load.post("/api/events", write, body)

    before = http_load.rss_mb(pid)
    first = http_load.saturate(port, [event(0)], 1, 1, 3600)
    print(f"  first event (loads the real-time state)  {first.latencies[0]:.1f} s; server RSS {before:,.0f} -> "
          f"{http_load.rss_mb(pid):,.0f} MB (peak {http_load.rss_mb(pid, 'VmHWM'):,.0f} MB)")
    alone = http_load.saturate(port, [event(i) for i in range(1, 301)], 1, 300, 60)
    print(f"  POST /api/events alone, one at a time    {alone}")
    reads, writes = http_load.mixed(port, lookups, READ_RATE, lambda i: event(1000 + i), WRITE_RATE, MIXED_SECONDS)
    print(f"  mixed: POST /api/events at {WRITE_RATE}/s       {writes}")
    print(f"  mixed: GET 360 at {READ_RATE}/s               {reads}")
    return {"events alone": alone, "events mixed": writes, "reads mixed": reads}


def _summary(found: dict[str, dict[str, object]]) -> None:
    if len(found) < 2:
        return
    print(f"  {'':<28}" + "".join(f"{label:>36}" for label in found))
    rows = [("360 req/s", lambda r: f"{r['360'].rate:,.0f}"),
            ("360 p50 / p95 / max ms", lambda r: _spread(r["360"])),
            ("event alone p50/p95/max ms", lambda r: _spread(r["events alone"]) if "events alone" in r else "-"),
            ("event mixed p50/p95/max ms", lambda r: _spread(r["events mixed"]) if "events mixed" in r else "-"),
            ("360 mixed p50/p95/max ms", lambda r: _spread(r["reads mixed"]) if "reads mixed" in r else "-"),
            ("server peak RSS MB", lambda r: f"{r['rss']:,.0f}")]
    for name, show in rows:
        print(f"  {name:<28}" + "".join(f"{show(r):>36}" for r in found.values()))


def _spread(load: http_load.Load) -> str:
    return f"{load.ms(50):.2f} / {load.ms(95):.2f} / {load.latencies.max() * 1000:.1f}"


def _sources(revision: str, directory: Path) -> Path | None:
    """The package sources at ``revision`` (None, said, where git or the revision is missing)."""
    root = Path(__file__).resolve().parent.parent
    out = directory / "previous"
    out.mkdir()
    try:
        archive = subprocess.run(["git", "-C", str(root), "archive", revision, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"  previous setup skipped: no sources of {revision} ({exc})")
        return None
    return out / "src"


@contextmanager
def _served(path: Path, config: Path, sources: Path | None, keys: dict[str, str]) -> Iterator[tuple[int, int]]:
    """`segmento serve` on ``path`` (from ``sources`` when given), its read model built: (port, pid)."""
    port = _free_port()
    log = path.with_suffix(".log")
    env = {**os.environ, "PYTHONPATH": str(sources)} if sources else None
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "segmento.cli", "serve", "--port", str(port), "--as-of", AS_OF.isoformat(),
             "--db", str(path), "--config", str(config)], stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.perf_counter()
        try:
            _wait_ready(url, server)
        except RuntimeError:
            print(log.read_text())
            raise
        model = httpx.post(f"{url}/api/read-model/refresh", headers={"X-API-Key": keys["admin"]}, timeout=600).json()
        while httpx.get(f"{url}/health").json().get("dashboard", "ready") != "ready":  # pages computed ahead: not
            time.sleep(1)  # what is measured, and they would take the CPU the lookups need
        print(f"  server up with its read model and pages in {time.perf_counter() - started:.1f} s (read model build "
              f"{model['seconds']:.1f} s for {model['customers']:,} customers); RSS {http_load.rss_mb(server.pid):,.0f} MB "
              f"(peak {http_load.rss_mb(server.pid, 'VmHWM'):,.0f} MB)")
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(timeout=60)


def _prepare(directory: Path, customers: int) -> tuple[Path, Path, dict[str, str], list[str]]:
    """A copy of the base with fitted segmentations, three snapshots, recorded audiences (built once, kept
    in build/bench/), and keys."""
    path = directory / "shop.duckdb"
    shutil.copy(_served_base(customers), path)
    config = directory / "segmento.yaml"
    config.write_text(PROJECT)
    with segmento.connect(path, parse_project(PROJECT)) as ws:
        keys = {role: api_keys.create_key(ws.con, role, [role])[0] for role in ("read", "write", "admin")}
        ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()
    return path, config, keys, ids


def _served_base(customers: int) -> Path:
    path = CACHE / f"service-{customers}.duckdb"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    shutil.copy(_knowledge_base(customers), partial)
    with segmento.connect(partial, parse_project(PROJECT)) as ws:
        for name in ("value", "rfm"):
            ws.fit_segmentation(name, AS_OF)
        _, seconds = timed(lambda: ws.backfill("2024-10", "2024-12"))
        _, refresh = timed(lambda: ws.refresh_audiences(AS_OF))
    partial.rename(path)
    print(f"  setup (not measured, kept in {path}): 3 snapshots in {seconds:.0f} s, audience refresh in {refresh:.0f} s")
    return path


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


if __name__ == "__main__":
    run(float(os.environ.get("BENCH_SCALE", "0.1")))
