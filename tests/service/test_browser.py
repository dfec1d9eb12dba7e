"""The dashboard in a real headless Chromium against a real `segmento serve` (uvicorn on
a free port): every page loads, its Plotly charts render, the console stays clean; and what
an analyst sees: segment names not ids, formatted figures, alerts latest first with a link to
the customer, Sankey links coloured by direction, nothing wider than a laptop or a phone
screen, every page reachable by keyboard."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from service_support import END, PROJECT, Base, serving

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
    "/dashboard/customers?id=C0000042": 3,
}
SIZES = {"laptop": (1366, 768), "phone": (390, 844)}
RFM_IDS = ("cant_lose", "at_risk", "about_to_sleep", "need_attention", "potential_loyalists")
FIGURE = re.compile(r"[€$£]?\d{1,3}(,\d{3})*(\.\d+)?%?")


@pytest.fixture(scope="module")
def server(base: Base, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`segmento serve` in its own process on this module's copy of the base."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs the Debian packages chromium and chromium-driver")
    directory = tmp_path_factory.mktemp("browser")
    (directory / "segmento.yaml").write_text(PROJECT)
    with serving(base.copy(directory), directory / "segmento.yaml") as url:
        yield url


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
    tab.wait_for_function("() => performance.getEntriesByName('segmento:charts-drawn').length === 1")
    return tab.locator("[data-figure].js-plotly-plot").count()


def source_freshness(db: Path) -> dict[str, str]:
    """How far each source's latest record is behind the data date, counted in DuckDB."""
    columns = {"customers": "signup_date", "orders": "ordered_at", "events": "occurred_at", "consents": "recorded_at"}
    with duckdb.connect(str(db), read_only=True) as con:
        found = {}
        for table, column in columns.items():
            days = con.execute(f"SELECT date_diff('day', max({column})::DATE, DATE '{END}') FROM {table}").fetchone()[0]
            found[table] = "up to date" if days <= 1 else f"{days:,} days behind"
    return found


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_draws_its_charts_without_console_errors(page, server: str, base: Base, path: str) -> None:
    response = page.goto(server + path)
    assert response.status == 200
    assert charts_drawn(page) >= PAGES[path]
    assert page.locator(".js-plotly-plot .main-svg").first.is_visible()
    assert page.problems == []
    header = page.inner_text("header .asof")  # every page says what date its figures are as of, and how fresh
    assert header.startswith(f"data as of {END}")
    assert all(f"{source}: {text}" in header for source, text in source_freshness(base.path).items()), header


def test_the_forms_drive_the_pages(page, server: str) -> None:
    page.goto(f"{server}/dashboard/customers")
    page.fill("input[name=id]", "C0000007")
    page.click("button[type=submit]")
    page.wait_for_selector("#profile")
    assert "Customer C0000007" in page.inner_text("#profile h2")
    assert page.locator("#segments td").count() >= 2 and charts_drawn(page) == 3

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


def test_segments_are_named_not_shown_by_id(page, server: str) -> None:
    page.goto(f"{server}/dashboard/transitions?segmentation=rfm")
    charts_drawn(page)
    ticks = " ".join(page.locator(".xtick text, .ytick text").all_text_contents())
    assert "Champions" in ticks and "new customers" in ticks and "lost" in ticks
    assert not any(segment_id in ticks for segment_id in RFM_IDS)
    body = page.inner_text("main")
    assert not any(segment_id in body for segment_id in RFM_IDS)
    page.goto(f"{server}/dashboard/")
    assert page.locator("#mix-rfm span[title=champions]").inner_text() == "Champions"  # the id as a tooltip


def test_headline_figures_are_formatted_for_people(page, server: str) -> None:
    page.goto(f"{server}/dashboard/")
    values = page.locator(".tile-value").all_inner_texts()
    assert len(values) >= 4 and all(FIGURE.fullmatch(v) for v in values), values
    assert any(v.startswith("€") for v in values)
    assert "data as of" in page.inner_text("header") and "2024-12-31" in page.inner_text("header")
    cells = page.locator("#headline td.num").all_inner_texts()
    assert cells and all(re.fullmatch(r"[+−±]?[€$£]?[\d,.]+( pt|%)?", c) for c in cells), cells


def test_alerts_are_latest_first_filterable_and_link_to_the_customer(page, server: str) -> None:
    page.goto(f"{server}/dashboard/alerts")
    periods = [row.split("\t")[0] for row in page.locator("#alerts tbody tr").all_inner_texts()]
    assert len(periods) > 1 and periods == sorted(periods, reverse=True)
    page.select_option("select[name=rule]", "climb")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile("rule=climb"))
    rules = page.locator("#alerts tbody td:nth-child(3)").all_inner_texts()
    assert rules and set(rules) == {"climb"}
    matched = page.locator(".tile-label", has_text="alerts matched").locator("xpath=..").locator(".tile-value")
    assert int(matched.inner_text().replace(",", "")) >= len(rules)
    link = page.locator("#alerts tbody a").first
    customer = link.inner_text()
    link.click()
    page.wait_for_selector("#profile")
    assert f"Customer {customer}" in page.inner_text("#profile h2")
    assert "climb" in page.inner_text("#alerts")  # that customer's own alerts


def test_sankey_links_are_coloured_by_direction(page, server: str) -> None:
    from segmento.report import palette

    page.goto(f"{server}/dashboard/trajectories?segmentation=rfm&last=6")
    charts_drawn(page)
    fills = page.eval_on_selector_all(".sankey-link", "links => links.map(l => getComputedStyle(l).fill)")

    def rgb(colour: str) -> str:  # '#e8590c' as the browser computes it: 'rgb(232, 89, 12)'
        return "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))

    assert {rgb(palette.MOVES[move]) for move in ("up", "down", "stay", "new")} <= set(fills)
    legend = page.inner_text(".legend")
    assert "moved down" in legend and "moved up" in legend and "new customers" in legend


@pytest.mark.parametrize("size", list(SIZES))
def test_no_page_is_wider_than_the_screen(browser, server: str, base: Base, size: str) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.goto(f"{server}/dashboard/?key={base.keys['read']}")
    for path in PAGES:
        tab.goto(server + path)
        charts_drawn(tab)
        wide = tab.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{path} is {wide}px wide at {width}px"
    context.close()


def test_every_page_is_reachable_by_keyboard(page, server: str) -> None:
    page.goto(f"{server}/dashboard/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    visited = []
    for _ in range(8):
        page.keyboard.press("Tab")
        visited.append(page.evaluate("document.activeElement.textContent"))
    assert {"Transitions", "Alerts", "Customer lookup"} <= set(visited)
    page.focus("nav a:has-text('Alerts')")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/dashboard/alerts"))
    page.focus("select[name=kind]")
    page.keyboard.press("Enter")  # a form control submits with the keyboard too


def overlapping_labels(tab) -> list[tuple[str, str]]:
    """Pairs of Sankey node labels whose drawn boxes intersect (as Chromium laid them out)."""
    boxes = tab.eval_on_selector_all(
        ".sankey .node-label",
        "labels => labels.filter(l => l.textContent.trim()).map(l => {"
        " const r = l.getBoundingClientRect(); return [l.textContent, r.left, r.top, r.right, r.bottom]; })")
    return [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]


@pytest.mark.parametrize("size", list(SIZES))
def test_sankey_node_labels_do_not_overlap(browser, server: str, base: Base, size: str) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.goto(f"{server}/dashboard/trajectories?segmentation=rfm&last=6&key={base.keys['read']}")
    charts_drawn(tab)
    nodes = tab.locator(".sankey .sankey-node").count()
    labels = [t for t in tab.locator(".sankey .node-label").all_text_contents() if t.strip()]
    assert nodes >= 40 and len(labels) >= 12, (nodes, labels)  # many nodes: the RFM map over six periods
    assert overlapping_labels(tab) == []
    context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_customer_identity_and_features_read_as_text(browser, server: str, base: Base, size: str) -> None:
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    tab = context.new_page()
    tab.goto(f"{server}/dashboard/customers?id=C0000042&key={base.keys['read']}")
    tab.wait_for_selector("#features")
    identity = tab.locator("#profile dd").all_inner_texts()
    assert identity and not any(v.startswith(("{", "[")) or v in ("True", "False", "None") for v in identity), identity
    lines = tab.eval_on_selector_all("ul.features li b", """values => values.map(b => {
        const range = document.createRange(); range.selectNodeContents(b);
        const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
        return [b.textContent, tops.size]; })""")
    broken = [text for text, count in lines if " " not in text.strip() and count > 1]
    assert lines and broken == [], broken  # a value of one word is never split across lines
    context.close()


def test_alert_reasons_next_best_actions_and_forecast_intervals_are_shown(page, server: str, base: Base) -> None:
    page.goto(f"{server}/dashboard/alerts")
    headers = page.locator("#alerts thead th").all_inner_texts()
    first = page.locator("#alerts tbody tr").first.locator("td").all_inner_texts()
    row = dict(zip(headers, first))
    with duckdb.connect(str(base.path), read_only=True) as con:
        stored = con.execute("SELECT reason FROM alerts WHERE customer_id = ? AND period = ? AND rule = ?",
                             [row["customer"], row["period"], row["rule"]]).fetchone()[0]
    assert stored and row["reason"] == stored  # the alert's own reason, as raised
    page.goto(f"{server}/dashboard/customers?id={row['customer']}")
    assert stored in page.inner_text("#alerts")

    page.goto(f"{server}/dashboard/portraits?segmentation=value")
    charts_drawn(page)
    table = page.locator("#portraits-value table").first
    column = table.locator("thead th").all_inner_texts().index("next best action")
    actions = table.locator(f"tbody td:nth-child({column + 1})").all_inner_texts()
    assert actions and all(a.strip() and a != "—" for a in actions), actions
    assert page.locator("#quality-value").count() == 1  # homogeneity and separation per segment

    page.goto(f"{server}/dashboard/trajectories?segmentation=value")
    charts_drawn(page)
    forecast = page.locator("#forecast-value")
    assert "90% interval" in forecast.locator("thead").first.inner_text()
    bands = forecast.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert bands and all(re.fullmatch(r"[\d.]+% – [\d.]+%", b) for b in bands), bands
    assert page.problems == []


def test_customer_timeline_and_audiences_since_when_are_that_customers(page, server: str, base: Base) -> None:
    customer = "C0000042"
    until = f"TIMESTAMP '{END} 23:59:59.999999'"
    with duckdb.connect(str(base.path), read_only=True) as con:
        since = con.execute("SELECT audience, \"at\" FROM (SELECT *, row_number() OVER (PARTITION BY audience ORDER BY seq DESC) "
                            "AS latest FROM audience_changes WHERE customer_id = ?) WHERE latest = 1 AND kind = 'enter' "
                            "ORDER BY audience", [customer]).fetchall()
        orders = con.execute(f"SELECT ordered_at, 'order' FROM orders WHERE customer_id = ? AND ordered_at <= {until}",
                             [customer]).fetchall()
        events = con.execute(f"SELECT occurred_at, replace(type, '_', ' ') FROM events WHERE customer_id = ? "
                             f"AND occurred_at <= {until}", [customer]).fetchall()
    assert orders and events  # the test base gives this customer both
    latest = sorted(orders + events, reverse=True)[:15]
    page.goto(f"{server}/dashboard/customers?id={customer}")
    charts_drawn(page)
    timeline = page.locator("#timeline")
    assert timeline.locator("[data-figure].js-plotly-plot").count() == 1
    caption = timeline.locator("caption").inner_text()
    assert f"{len(orders):,} orders and {len(events):,} events" in caption, caption
    rows = [r.locator("td").all_inner_texts() for r in timeline.locator("tbody tr").all()]
    shown = [(f"{at:%Y-%m-%d}" if at.time() == datetime.min.time() else f"{at:%Y-%m-%d %H:%M}", what)
             for at, what in latest]
    assert [(when, what) for when, what, *_ in rows] == shown
    assert since  # the test base puts this customer in audiences
    assert page.locator("#audiences li").all_inner_texts() == [f"{name} since {at:%Y-%m-%d}" for name, at in since]
    assert page.problems == []


def test_customer_charts_draw_that_customers_segment_history_and_timeline(page, server: str, base: Base) -> None:
    customer = "C0000042"
    until = f"TIMESTAMP '{END} 23:59:59.999999'"
    with duckdb.connect(str(base.path), read_only=True) as con:
        history = con.execute(
            "SELECT s.segmentation, strftime(s.period, '%Y-%m-%d'), g.segment_label FROM segment_snapshots s "
            "JOIN snapshot_periods p USING (segmentation, period) "
            "JOIN snapshot_segments g USING (segmentation, version, segment_id) "
            "WHERE s.customer_id = ? ORDER BY 1, 2", [customer]).fetchall()
        orders = con.execute(f"SELECT count(*) FROM orders WHERE customer_id = ? AND ordered_at <= {until}",
                             [customer]).fetchone()[0]
        events = con.execute(f"SELECT count(*) FROM events WHERE customer_id = ? AND occurred_at <= {until}",
                             [customer]).fetchone()[0]
    expected: dict[str, tuple[list[str], list[str]]] = {}
    for segmentation, period, label in history:
        expected.setdefault(segmentation, ([], []))[0].append(period)
        expected[segmentation][1].append(label)
    page.goto(f"{server}/dashboard/customers?id={customer}")
    charts_drawn(page)
    panels = page.eval_on_selector_all("#history [data-figure]", """els => els.map(el => [
        el.layout.title.text, el.data[0].x, el.data[0].y, el.querySelectorAll('.scatterlayer .point').length])""")
    assert {title: (x, y) for title, x, y, _ in panels} == expected  # one panel per segmentation, its own labels
    assert [points for *_, points in panels] == [len(expected[title][0]) for title, *_ in panels]
    clipped = page.eval_on_selector_all("#history [data-figure]", """els => els.flatMap(el => {
        const left = el.querySelector('.main-svg').getBoundingClientRect().left;
        return Array.from(el.querySelectorAll('.ytick text')).filter(t => t.getBoundingClientRect().left < left)
            .map(t => t.textContent); })""")
    assert clipped == []  # the margin sized for the labels holds them
    drawn = page.eval_on_selector("#timeline [data-figure]", """el => [
        Object.fromEntries(el.data.map(t => [t.name, t.x.length])), el.querySelectorAll('.scatterlayer .point').length]""")
    assert drawn == [{"orders": orders, "events": events}, orders + events]
    assert page.problems == []


def test_the_plotly_bundle_is_deferred_and_kept_by_the_browser(page, server: str) -> None:
    """Fetched once under an address naming its content (so kept for good), never in the way of the page's text."""
    page.goto(f"{server}/dashboard/")
    script = page.locator("head script[src*='plotly.min.js']")
    assert script.get_attribute("defer") is not None
    address = script.get_attribute("src")
    served = page.request.get(server + address)
    assert hashlib.sha256(served.body()).hexdigest().startswith(address.split("?v=")[1])
    cache = served.headers["cache-control"]
    assert "immutable" in cache and int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600
    page.goto(f"{server}/dashboard/alerts")
    charts_drawn(page)
    fetched = page.evaluate("""() => performance.getEntriesByType('resource').filter(e => e.name.includes('plotly.min.js'))
        .map(e => [e.transferSize, e.decodedBodySize])""")
    assert fetched == [[0, len(served.body())]]  # read from the browser's cache, not the network
    assert page.problems == []
