"""Dashboard and report: how long each page takes for the analyst, on the demo-sized base.

Scale 0.1 = the demo base (50,000 customers, 24 months, the demo project: value tiers, the
RFM map, behaviour clusters, predictive traits, five audiences refreshed month by month,
trajectory alerts). `segmento serve` runs in its own process; each page is measured

- on the server: the first request after the server is ready (what the first visitor
  waits for; pages are computed ahead after each read model build) and the median of
  five more (what every later visitor waits for);
- in headless Chromium (Playwright, /usr/bin/chromium) at 1366x768: from navigation to
  the load event and to every Plotly chart drawn, median of three.

The baseline is the same page computed with nothing kept (``cached`` bypassed, in this
process, on the same base). The report: build time, size, and the time Chromium takes to
open it and draw every chart. Figures are printed, never asserted. The prepared base is
kept in build/bench/ so a second run skips building it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import httpx

import segmento
from benchmarks.bench_features import CACHE, _knowledge_base
from benchmarks.common import section
from segmento.config import parse_project
from segmento.service import keys as api_keys

AS_OF = date(2024, 12, 31)
PROJECT_FILE = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"
REFRESHES = ("2024-07-31", "2024-08-31", "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31")
CHROMIUM = "/usr/bin/chromium"
PAGES = ("/dashboard/", "/dashboard/transitions", "/dashboard/trajectories", "/dashboard/portraits",
         "/dashboard/predictive", "/dashboard/audiences", "/dashboard/alerts", "/dashboard/customers?id={customer}")
DRAWN = "n => document.querySelectorAll('[data-figure].js-plotly-plot .main-svg').length >= n"
BUDGET = 1.0  # seconds: the page load the dashboard aims at


def run(scale: float = 0.1, db: Path | None = None) -> None:
    customers = max(2000, int(500_000 * scale))
    with section("dashboard and report: page loads on the demo base (24 months, the demo project)"), \
            tempfile.TemporaryDirectory() as tmp:
        source = db or _demo_base(customers)
        path = Path(tmp) / "shop.duckdb"
        shutil.copy(source, path)
        secret = source.with_name(source.name + ".key")  # the pseudonyms' secret beside the file, when there is one
        if secret.exists():
            shutil.copy(secret, path.with_name(path.name + ".key"))
        project = parse_project(PROJECT_FILE.read_text())
        with segmento.connect(path, project) as ws:
            key, _ = api_keys.create_key(ws.con, "bench", ["read"])
            customer = ws.table("alerts").order_by("alert_id").limit(1).to_pyarrow().column("customer_id")[0].as_py()
            print(f"  base: {ws.table('customers').count().execute():,} customers, "
                  f"{ws.table('orders').count().execute():,} orders, {ws.table('events').count().execute():,} events")
        pages = [p.format(customer=customer) for p in PAGES]
        server, url = _serve(path, Path(tmp))
        try:
            first, warm = _server_times(url, key, pages)
            browser = _browser_times(url, key, pages)
        finally:
            _stop(server)
        uncached = _uncached_times(path, project, customer)
        print(f"  {'page':<34} {'first':>7} {'later':>7} {'no cache':>9} {'browser load':>13} {'drawn':>7}")
        for page in pages:
            load, drawn = browser[page]
            flag = "" if max(warm[page], load) < BUDGET else "  over 1 s"  # the first screen; other charts follow
            print(f"  {page[:34]:<34} {first[page]:6.2f}s {warm[page]:6.2f}s {uncached.get(page, float('nan')):8.2f}s "
                  f"{load:12.2f}s {drawn:6.2f}s{flag}")
        print("  first: the first request after start (pages computed ahead); later: median of 5; no cache: the "
              "page's parts computed afresh (baseline); browser: Chromium 1366x768, load event and every chart "
              "drawn, median of 3")
        _previous_customer_page(path, key, pages[-1], Path(tmp), browser[pages[-1]], warm[pages[-1]])
        _report(path, project, Path(tmp))


def _previous_customer_page(path: Path, key: str, page: str, directory: Path, now: tuple[float, float],
                            later: float) -> None:
    """The customer page as served before the lookup indexes (the service of BENCH_SERVICE_BASELINE, on a copy of
    the base without them): its timeline scanned the orders and events tables for each customer."""
    from benchmarks.bench_service import BASELINE, _sources

    sources = _sources(BASELINE, directory) if BASELINE else None
    if sources is None:
        return
    copy = directory / "previous.duckdb"
    shutil.copy(path, copy)
    if path.with_name(path.name + ".key").exists():
        shutil.copy(path.with_name(path.name + ".key"), copy.with_name(copy.name + ".key"))
    with duckdb.connect(str(copy)) as con:
        for (name,) in con.execute("SELECT index_name FROM duckdb_indexes()").fetchall():
            con.execute(f'DROP INDEX "{name}"')
    server, url = _serve(copy, directory, sources)
    try:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=300) as client:
            _wait_warmed(client)
            _get(client, page)
            before = statistics.median(_get(client, page) for _ in range(5))
        load, drawn = _browser_times(url, key, [page])[page]
    finally:
        _stop(server)
    print(f"  customer page before ({BASELINE}, no lookup index): later {before:.2f}s, browser load {load:.2f}s, "
          f"drawn {drawn:.2f}s; now: later {later:.2f}s, browser load {now[0]:.2f}s, drawn {now[1]:.2f}s")


def _demo_base(customers: int) -> Path:
    """The generator's tables with the demo's flow run on them (fits, backfill, refreshes), built once."""
    path = CACHE / f"dashboard-{customers}.duckdb"
    if path.exists():
        return path
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    shutil.copy(_knowledge_base(customers), partial)
    project = parse_project(PROJECT_FILE.read_text())
    with segmento.connect(partial, project) as ws:
        for name in ("value", "rfm", "behaviour"):
            ws.fit_segmentation(name, AS_OF)
        for day in ("2024-06-30", AS_OF.isoformat()):
            ws.fit_predictive(day)
        ws.backfill("2023-01", "2024-12")
        for day in REFRESHES:
            ws.refresh_audiences(datetime.fromisoformat(f"{day} 23:59:59"))
    partial.rename(path)
    print(f"  demo base prepared in {time.perf_counter() - started:,.0f} s (kept in {path})")
    return path


def _serve(path: Path, directory: Path, sources: Path | None = None) -> tuple[subprocess.Popen, str]:
    from benchmarks.bench_service import _free_port, _wait_ready

    port = _free_port()
    log = (directory / "server.log").open("w")
    env = {**os.environ, "PYTHONPATH": str(sources)} if sources else None
    server = subprocess.Popen([sys.executable, "-m", "segmento.cli", "serve", "--port", str(port), "--as-of",
                               AS_OF.isoformat(), "--db", str(path), "--config", str(PROJECT_FILE)],
                              stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    try:
        _wait_ready(url, server)
    except RuntimeError:
        print((directory / "server.log").read_text())
        raise
    print(f"  server ready (read model built) in {time.perf_counter() - started:.1f} s")
    return server, url


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=120)
    except subprocess.TimeoutExpired:  # still computing pages ahead: it holds nothing worth keeping
        server.kill()
        server.wait()


def _server_times(url: str, key: str, pages: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    first, warm = {}, {}
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=300) as client:
        _wait_warmed(client)
        for page in pages:
            first[page] = _get(client, page)
        for page in pages:
            warm[page] = statistics.median(_get(client, page) for _ in range(5))
    return first, warm


def _wait_warmed(client: httpx.Client, timeout: float = 1800) -> None:
    """Until the pages computed ahead after the read model build are done (/health says so)."""
    started, deadline = time.perf_counter(), time.monotonic() + timeout
    while client.get("/health").json().get("dashboard") != "ready":
        if time.monotonic() > deadline:
            raise TimeoutError("the dashboard pages were not computed ahead in time")
        time.sleep(0.5)
    print(f"  pages computed ahead in {time.perf_counter() - started:.1f} s more")


def _get(client: httpx.Client, page: str) -> float:
    started = time.perf_counter()
    response = client.get(page)
    response.raise_for_status()
    return time.perf_counter() - started


def _browser_times(url: str, key: str, pages: list[str]) -> dict[str, tuple[float, float]]:
    if not Path(CHROMIUM).exists():
        print(f"  browser timings skipped: {CHROMIUM} is missing")
        return {page: (float("nan"), float("nan")) for page in pages}
    from playwright.sync_api import sync_playwright

    found = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        tab = context.new_page()
        tab.goto(f"{url}/dashboard/?key={key}")
        for page in pages:
            runs = [_open(tab, url + page) for _ in range(3)]
            found[page] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        browser.close()
    return found


def _open(tab, address: str) -> tuple[float, float]:
    """(seconds to the load event, seconds until every chart is drawn) for one navigation."""
    started = time.perf_counter()
    tab.goto(address, wait_until="load")
    loaded = time.perf_counter() - started
    tab.wait_for_function(DRAWN, arg=tab.locator("[data-figure]").count(), timeout=120_000)
    return loaded, time.perf_counter() - started


def _uncached_times(path: Path, project, customer: str) -> dict[str, float]:
    """Each page rendered in process with nothing kept: every part computed afresh (the baseline)."""
    from fastapi.testclient import TestClient

    from segmento.service.app import create_app

    found = {}
    with segmento.connect(path, project) as ws:
        key, _ = api_keys.create_key(ws.con, "bench-baseline", ["read"])
        app = create_app(ws, as_of=AS_OF)  # not started: no read model, nothing computed ahead
        app.state.service.cached = lambda key, compute, *depends: compute()  # and nothing kept
        client = TestClient(app, headers={"X-API-Key": key})
        for page in PAGES:
            address = page.format(customer=customer)
            started = time.perf_counter()
            client.get(address).raise_for_status()
            found[address] = time.perf_counter() - started
    return found


def _report(path: Path, project, directory: Path) -> None:
    from segmento.report import build_report

    out = directory / "report.html"
    with segmento.connect(path, project) as ws:
        started = time.perf_counter()
        build_report(ws, out)
        built = time.perf_counter() - started
    size = out.stat().st_size
    drawn = float("nan")
    if Path(CHROMIUM).exists():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            tab = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            drawn = statistics.median(_open(tab, out.resolve().as_uri())[1] for _ in range(3))
            browser.close()
    charts = len(re.findall(r'data-figure="', out.read_text(encoding="utf-8")))
    print(f"  report: built in {built:.1f} s, {size / 1e6:.2f} MB, {charts} charts drawn by Chromium in {drawn:.2f} s "
          "(median of 3, opened from the file)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--db", type=Path, help="an existing demo base (made with the demo project) instead")
    args = parser.parse_args()
    run(args.scale, args.db)


if __name__ == "__main__":
    main()
