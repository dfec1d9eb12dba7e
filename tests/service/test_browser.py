"""The dashboard in a real headless Chromium against a real `segmento serve` (uvicorn on
a free port): every page loads, its Plotly charts render, the console stays clean."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from service_support import END, PROJECT, Base

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PAGES = {  # path -> charts it must draw
    "/dashboard/": 3,
    "/dashboard/transitions": 1,
    "/dashboard/transitions?segmentation=rfm&from=2024-09-30&to=2024-12-31": 1,
    "/dashboard/trajectories?segmentation=value&last=4": 1,
    "/dashboard/portraits": 2,
    "/dashboard/audiences?portrait=big_spenders": 4,
    "/dashboard/alerts?kind=negative": 1,
    "/dashboard/customers?id=C0000042": 1,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(base: Base, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`segmento serve` in its own process on this module's copy of the base."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs the Debian packages chromium and chromium-driver")
    directory = tmp_path_factory.mktemp("browser")
    (directory / "segmento.yaml").write_text(PROJECT)
    port = free_port()
    command = [sys.executable, "-m", "segmento.cli", "serve", "--port", str(port), "--as-of", END.isoformat(),
               "--db", str(base.copy(directory)), "--config", str(directory / "segmento.yaml")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
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
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def signed_in(browser, server: str, base: Base) -> Iterator[object]:
    """A browser context that opened the dashboard link with a read key once (then kept in a cookie)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.goto(f"{server}/dashboard/?key={base.keys['read']}")
    assert "key=" not in tab.url and tab.locator("header h1").inner_text() == "Segmento"
    tab.close()
    yield context
    context.close()


@pytest.fixture
def page(signed_in) -> Iterator[object]:
    """A fresh tab recording console errors and uncaught exceptions."""
    tab = signed_in.new_page()
    tab.problems = []
    tab.on("console", lambda m: tab.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.problems.append(f"page error: {e}"))
    yield tab
    tab.close()


def charts_drawn(tab) -> int:
    """Wait for Plotly to draw every chart placeholder; return how many were drawn."""
    tab.wait_for_load_state("load")
    placeholders = tab.locator("[data-figure]").count()
    tab.wait_for_function(
        "n => document.querySelectorAll('[data-figure].js-plotly-plot .main-svg').length >= n", arg=placeholders
    )
    return tab.locator("[data-figure].js-plotly-plot").count()


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_draws_its_charts_without_console_errors(page, server: str, path: str) -> None:
    response = page.goto(server + path)
    assert response.status == 200
    assert charts_drawn(page) >= PAGES[path]
    assert page.locator(".js-plotly-plot .main-svg").first.is_visible()
    assert page.problems == []


def test_the_forms_drive_the_pages(page, server: str) -> None:
    page.goto(f"{server}/dashboard/customers")
    page.fill("input[name=id]", "C0000007")
    page.click("button[type=submit]")
    page.wait_for_selector("#profile")
    assert "Customer C0000007" in page.inner_text("#profile h2")
    assert page.locator("#segments td").count() >= 2 and charts_drawn(page) == 1

    page.goto(f"{server}/dashboard/transitions")
    page.select_option("select[name=segmentation]", "rfm")
    page.click("button[type=submit]")
    page.wait_for_selector("text=rfm: transitions")
    assert charts_drawn(page) == 1
    assert "segmentation=rfm" in page.url
    assert page.problems == []


def test_without_a_key_the_dashboard_explains_how_to_get_in(browser, server: str) -> None:
    context = browser.new_context()
    tab = context.new_page()
    response = tab.goto(f"{server}/dashboard/")
    assert response.status == 401 and "A key is needed" in tab.inner_text("h1")
    context.close()
