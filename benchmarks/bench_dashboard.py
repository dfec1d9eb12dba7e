"""Dashboard and report: how long each page takes for the analyst, on the demo-sized base.

Scale 0.1 = the demo base (50,000 customers, 24 months, the demo project: value tiers, the
RFM map, behaviour clusters, predictive traits, five audiences refreshed month by month,
trajectory alerts). `segmento serve` runs in its own process; each page is measured

- on the server: the first request after the server is ready (what the first visitor
  waits for; pages are computed ahead after each read model build), the median of five
  more (what every later visitor waits for) and the server's CPU time per request (from
  /proc, steadier than wall time on a busy machine);
- in headless Chromium (Playwright, /usr/bin/chromium) at 1366x768, with the browser's own
  clocks (Navigation and Paint Timing, median of three): when the answer starts, the first
  contentful paint (the page's text: every figure, table and name but the charts), the end of
  the load event, when the last chart is drawn (the last ``Plotly.newPlot`` promise resolved,
  seen by a script added before the page's own, so that any revision is timed alike), and the
  page's main-thread busy time once it is idle again (Chrome's TaskDuration, the browser's CPU).

The customer page is opened for a different customer each time (nothing kept from a visit).
Two baselines in the same run: the same pages served by the revision before this work
(``BENCH_DASHBOARD_BASELINE``, a git revision; empty to skip) on a copy of the same base, and
each page computed in process with nothing kept (``cached`` bypassed). The report: build
time, size, and the time Chromium takes to open it and draw every chart. Figures are
printed, never asserted. The prepared base is kept in build/bench/ so a second run skips
building it.
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
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import httpx

import segmento
from benchmarks.bench_features import CACHE, _knowledge_base
from benchmarks import http_load
from benchmarks.common import peak_rss_mb, section
from segmento.config import parse_project
from segmento.service import keys as api_keys

AS_OF = date(2024, 12, 31)
PROJECT_FILE = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"
REFRESHES = ("2024-07-31", "2024-08-31", "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31")
BASELINE = os.environ.get("BENCH_DASHBOARD_BASELINE", "33e48c8")  # main before the page-load work
CHROMIUM = "/usr/bin/chromium"
PAGES = ("/dashboard/", "/dashboard/transitions", "/dashboard/trajectories", "/dashboard/portraits",
         "/dashboard/predictive", "/dashboard/audiences", "/dashboard/alerts", "/dashboard/customers?id={customer}")
CUSTOMER_PAGE = PAGES[-1]
WATCH_PLOTLY = """(() => {  // when each chart's drawing is done, whichever way a page draws them
  let plotly;
  window.chartsDrawn = [];
  Object.defineProperty(window, "Plotly", {configurable: true, get() { return plotly; }, set(value) {
    plotly = value;
    const newPlot = value.newPlot;
    value.newPlot = function () {
      return newPlot.apply(this, arguments).then(gd => { window.chartsDrawn.push(performance.now()); return gd; });
    };
  }});
})();"""
TIMINGS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  return [nav.responseStart, paint ? paint.startTime : NaN, nav.loadEventEnd, Math.max(0, ...window.chartsDrawn)];
}"""
BUDGET = 1.0  # seconds: the page load the dashboard aims at


@dataclass
class Visit:
    """One page opened in Chromium, in seconds from the navigation's start (busy: main-thread time)."""

    answer: float
    paint: float
    load: float
    drawn: float
    busy: float

    @staticmethod
    def median(visits: list[Visit]) -> Visit:
        return Visit(*(statistics.median(getattr(v, f) for v in visits) for f in ("answer", "paint", "load", "drawn", "busy")))


@dataclass
class Served:
    """One page on one server: first request, median later request, server CPU per request, in the browser."""

    first: float
    later: float
    cpu: float
    browser: Visit


def run(scale: float = 0.1, db: Path | None = None) -> None:
    customers = max(2000, int(500_000 * scale))
    with section("dashboard and report: page loads on the demo base (24 months, the demo project)"), \
            tempfile.TemporaryDirectory() as tmp:
        source = db or _demo_base(customers)
        path = Path(tmp) / "shop.duckdb"
        _copy(source, path)
        project = parse_project(PROJECT_FILE.read_text())
        with segmento.connect(path, project) as ws:
            key, _ = api_keys.create_key(ws.con, "bench", ["read"])
            alerted = ws.table("alerts").select("customer_id").distinct().order_by("customer_id").limit(9)
            ids = (alerted.to_pyarrow().column(0).to_pylist() * 9)[:9]  # 9 visits, each a first one
            print(f"  base: {ws.table('customers').count().execute():,} customers, "
                  f"{ws.table('orders').count().execute():,} orders, {ws.table('events').count().execute():,} events")
        before = None
        if BASELINE:
            from benchmarks.bench_service import _sources

            sources = _sources(BASELINE, Path(tmp))
            if sources is not None:
                copy = Path(tmp) / "previous.duckdb"
                _copy(path, copy)
                print(f"  -- the revision before ({BASELINE})")
                before = _measure(copy, Path(tmp), key, ids, sources)
        print("  -- this revision")
        now = _measure(path, Path(tmp), key, ids)
        uncached = _uncached_times(path, project, ids[0])
        _print(now, before, uncached)
        _report(path, project, Path(tmp))


def _copy(source: Path, target: Path) -> None:
    shutil.copy(source, target)
    secret = source.with_name(source.name + ".key")  # the pseudonyms' secret beside the file, when there is one
    if secret.exists():
        shutil.copy(secret, target.with_name(target.name + ".key"))


def _measure(path: Path, directory: Path, key: str, ids: list[str], sources: Path | None = None) -> dict[str, Served]:
    server, url = _serve(path, directory, sources)
    try:
        server_times = _server_times(url, key, server.pid, ids)
        browser = _browser_times(url, key, ids[6:9])
        print(f"  server peak RSS {http_load.rss_mb(server.pid, 'VmHWM'):,.0f} MB, "
              f"this process {peak_rss_mb():,.0f} MB")
    finally:
        _stop(server)
    return {page: Served(*server_times[page], browser[page]) for page in PAGES}


def _print(now: dict[str, Served], before: dict[str, Served] | None, uncached: dict[str, float]) -> None:
    print(f"  {'page':<26} {'':>6}  {'first':>6} {'later':>6} {'cpu':>6} {'no cache':>8} | {'answer':>6} "
          f"{'paint':>6} {'load':>6} {'drawn':>6} {'busy':>6}")
    for page in PAGES:
        rows = [("now", now[page])] + ([("before", before[page])] if before else [])
        for label, m in rows:
            b = m.browser
            cache = f"{uncached[page]:7.2f}s" if label == "now" else " " * 8
            worst = max(m.later, b.paint, b.load)
            flag = "  over 1 s" if worst >= BUDGET else "  charts after 1 s" if b.drawn >= BUDGET else ""
            print(f"  {page.replace('?id={customer}', '') if label == 'now' else '':<26} {label:>6}  {m.first:5.2f}s "
                  f"{m.later:5.2f}s {m.cpu:5.3f}s {cache} | {b.answer:5.2f}s {b.paint:5.2f}s {b.load:5.2f}s "
                  f"{b.drawn:5.2f}s {b.busy:5.2f}s{flag}")
    print("  server: first request after start (pages computed ahead), later: median of 5, cpu: the server's CPU "
          "per later request, no cache: the page's parts computed afresh in process; browser (Chromium 1366x768, "
          "its own clocks from the navigation's start, median of 3): answer starts, first contentful paint (the "
          "text), load event ended, last chart drawn, main-thread busy time; the customer page for a new customer "
          "each time. Flagged: the text or the load event at 1 s or later, or only the charts")


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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_times(url: str, key: str, pid: int, ids: list[str]) -> dict[str, tuple[float, float, float]]:
    """page -> (first request, median of 5 later ones, server CPU per later request)."""
    found = {}
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=300) as client:
        _wait_warmed(client)
        first = {page: _get(client, page.format(customer=ids[0])) for page in PAGES}
        for page in PAGES:
            cpu = _cpu_seconds(pid)
            later = [_get(client, page.format(customer=ids[1 + i])) for i in range(5)]
            found[page] = (first[page], statistics.median(later), (_cpu_seconds(pid) - cpu) / 5)
    return found


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


def _chromium():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.add_init_script(WATCH_PLOTLY)
    tab = context.new_page()
    metrics = context.new_cdp_session(tab)
    metrics.send("Performance.enable")
    return playwright, browser, tab, metrics


def _browser_times(url: str, key: str, ids: list[str]) -> dict[str, Visit]:
    if not Path(CHROMIUM).exists():
        print(f"  browser timings skipped: {CHROMIUM} is missing")
        return {page: Visit(*[float("nan")] * 5) for page in PAGES}
    playwright, browser, tab, metrics = _chromium()
    try:
        tab.goto(f"{url}/dashboard/?key={key}")  # the key kept in a cookie, the static files in the cache
        return {page: Visit.median([_open(tab, metrics, url + page.format(customer=ids[i])) for i in range(3)])
                for page in PAGES}
    finally:
        browser.close()
        playwright.stop()


def _open(tab, metrics, address: str) -> Visit:
    """One navigation, timed by the browser: every chart drawn, then the main thread idle again."""
    tab.goto(address, wait_until="load")
    charts = tab.locator("[data-figure]").count()
    tab.wait_for_function("n => window.chartsDrawn.length >= n", arg=charts, timeout=120_000, polling=50)
    tab.evaluate("() => new Promise(done => requestIdleCallback(done))")
    answer, paint, load, drawn = tab.evaluate(TIMINGS)
    busy = next(m["value"] for m in metrics.send("Performance.getMetrics")["metrics"] if m["name"] == "TaskDuration")
    return Visit(answer / 1000, paint / 1000, load / 1000, drawn / 1000, busy)


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
            started = time.perf_counter()
            client.get(page.format(customer=customer)).raise_for_status()
            found[page] = time.perf_counter() - started
    return found


def _report(path: Path, project, directory: Path) -> None:
    from segmento.report import build_report

    out = directory / "report.html"
    with segmento.connect(path, project) as ws:
        started = time.perf_counter()
        build_report(ws, out)
        built = time.perf_counter() - started
    size = out.stat().st_size
    opened = Visit(*[float("nan")] * 5)
    if Path(CHROMIUM).exists():
        playwright, browser, tab, metrics = _chromium()
        try:
            opened = Visit.median([_open(tab, metrics, out.resolve().as_uri()) for _ in range(3)])
        finally:
            browser.close()
            playwright.stop()
    charts = len(re.findall(r'data-figure="', out.read_text(encoding="utf-8")))
    print(f"  report: built in {built:.1f} s, {size / 1e6:.2f} MB; opened from the file by Chromium (median of 3): "
          f"text painted at {opened.paint:.2f} s, load event {opened.load:.2f} s, its {charts} charts drawn at "
          f"{opened.drawn:.2f} s, main thread busy {opened.busy:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--db", type=Path, help="an existing demo base (made with the demo project) instead")
    args = parser.parse_args()
    run(args.scale, args.db)


if __name__ == "__main__":
    main()
