"""Screenshots of every dashboard page and of the report, for people to look at (`make demo`).

    python tools/screenshots.py --db demo/shop.duckdb --config examples/demo.yaml \
        --as-of 2024-12-31 --report demo/report.html --out demo/screenshots

Starts `segmento serve` on a free port with a read key made for the run, opens each page in
headless Chromium (Playwright, /usr/bin/chromium) at 1366x768 and at a 390 px phone width,
and writes full-page PNGs plus the time each page took to load and draw. Without Playwright
or Chromium it says so and exits 0: the demo does not need pictures to work.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
PAGES = {
    "overview": "/dashboard/",
    "transitions": "/dashboard/transitions",
    "trajectories": "/dashboard/trajectories",
    "portraits": "/dashboard/portraits",
    "audiences": "/dashboard/audiences",
    "alerts": "/dashboard/alerts",
    "customer": "/dashboard/customers?id={customer}",
}
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}
DRAWN = "() => performance.getEntriesByName('segmento:charts-drawn').length > 0"  # the page's mark: all drawn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def segmento(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "segmento.cli", *args], capture_output=True, text=True, check=True)
    return done.stdout


def serve(options: list[str], as_of: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "segmento.cli", "serve", "--port", str(port), "--as-of", as_of,
                                *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 600
    while time.monotonic() < deadline:
        try:  # every page computed ahead: a screenshot shows the page a visitor gets
            if httpx.get(f"{url}/health").json().get("dashboard") == "ready":
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit("segmento serve did not compute its pages within 10 minutes")


def shoot(tab, url: str, path: Path) -> float:
    """Open ``url``, wait for every chart, save a full-page PNG; seconds until drawn."""
    started = time.perf_counter()
    tab.goto(url)
    tab.wait_for_load_state("load")
    tab.wait_for_function(DRAWN, timeout=60_000)
    seconds = time.perf_counter() - started
    tab.screenshot(path=str(path), full_page=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--report")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("screenshots skipped: Playwright is not installed (`make install-test` installs it)")
        return 0
    if not Path(CHROMIUM).exists():
        print(f"screenshots skipped: {CHROMIUM} is missing (apt-get install chromium)")
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    options = ["--db", args.db, "--config", args.config]
    created = segmento("keys", "create", "screenshots", "--scope", "read", *options)
    key = re.search(r"sgk_\S+", created).group(0)
    customer = segmento("alerts", "--limit", "1", *options)
    found = re.search(r"\bC\d+\b", customer)
    process, url = serve(options, args.as_of)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            for size, (width, height) in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                tab = context.new_page()
                tab.goto(f"{url}/dashboard/?key={key}")
                for name, path in PAGES.items():
                    target = out / f"{name}-{size}.png"
                    seconds = shoot(tab, url + path.format(customer=found.group(0) if found else ""), target)
                    print(f"{target}  {seconds:.2f} s")
                if args.report:
                    target = out / f"report-{size}.png"
                    print(f"{target}  {shoot(tab, Path(args.report).resolve().as_uri(), target):.2f} s")
                context.close()
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
    segmento("keys", "revoke", key.split("_")[1], *options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
