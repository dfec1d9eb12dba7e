"""The dashboard's Campaigns page in a real headless Chromium against a real `segmento serve`:
the uplift chart draws, the console stays clean, the page fits a phone, the results table is there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from service_support import END, PROJECT, Base, serving
from test_browser import ARGS, CHROMIUM, SIZES, charts_drawn

import segmento
from segmento.config import parse_project

pytestmark = pytest.mark.browser
CAMPAIGNS = """
campaigns:
  - {id: vip-thanks, offer: gift, start: 2024-12-01, segment: {segmentation: value, segment: very_good},
     to: crm-files, control_share: 0.3}
  - {id: all-in, offer: discount, start: 2024-11-01, audience: big_spenders, to: crm-files, control_share: 0.5}
"""


@pytest.fixture(scope="module")
def server(base: Base, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("browser-campaigns")
    (directory / "segmento.yaml").write_text(PROJECT + CAMPAIGNS)
    db = base.copy(directory)
    with segmento.connect(db, parse_project(PROJECT + CAMPAIGNS)) as ws:
        ws.campaigns.launch("vip-thanks", at=END.replace(day=15))
        ws.campaigns.launch("all-in", at=END.replace(month=11, day=20))
    with serving(db, directory / "segmento.yaml") as url:
        yield url


@pytest.mark.parametrize("size", list(SIZES))
def test_the_campaigns_page_draws_its_uplift_chart_and_fits_the_screen(server: str, base: Base, size: str) -> None:
    from playwright.sync_api import sync_playwright

    width, height = SIZES[size]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_context(viewport={"width": width, "height": height}).new_page()
        problems: list[str] = []
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: problems.append(str(e)))
        tab.goto(f"{server}/dashboard/campaigns?segmentation=value&key={base.keys['read']}")
        assert charts_drawn(tab) == 1 and problems == []
        assert tab.locator(".js-plotly-plot .main-svg").first.is_visible()
        captions = tab.locator("table caption").all_inner_texts()
        assert captions[1:] == ["vip-thanks: orders within 14 days of the send",
                                "all-in: orders within 14 days of the send"]
        assert captions[0].startswith("which campaigns worked for each segment of value")
        assert tab.evaluate("document.querySelector('main').scrollWidth") <= width  # the page's own content
        assert "Campaigns" in tab.locator("nav").inner_text()
        browser.close()


def test_the_portraits_page_says_which_campaigns_worked_for_each_segment(server: str, base: Base) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page()
        tab.goto(f"{server}/dashboard/portraits?segmentation=value&key={base.keys['read']}")
        table = tab.locator("table", has=tab.locator("caption", has_text="which campaigns worked for each segment"))
        assert table.count() == 1
        headers = table.locator("th").all_inner_texts()
        assert {"vip-thanks", "all-in"} <= set(headers)
        browser.close()
