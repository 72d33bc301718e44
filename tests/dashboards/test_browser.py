"""Every page in a real browser: the dashboards served as dashboards/serve.py defines, on the fixture's data, each
page of dashboards/app.py opened at its URL in Debian's headless chromium (`make browser`) through Playwright and
read once its Streamlit run is over. A page passes when Streamlit shows no exception box, its title is there, it
shows a KPI, and none of its text (charts' labels included) reads "None" or "nan"; the Overview's OTIF is the
mart's, and a reload stays on the page the reader was on. A filter in the URL survives a reload and a filter
chosen in the sidebar is written to the URL; a drill-down button lands on the rows behind its tile, and the CSV
downloaded from there has them. Screenshots are written under the module's tmp directory
for a human to look at. The same server answers the header tests: every HTTP response forbids framing by another
origin, and Chromium refuses to show the dashboards in another site's frame."""

from __future__ import annotations

import ast
import functools
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from dashboards.kpis import fmt
from dashboards.serve import FRAME_HEADERS, with_frame_headers
from tests.dashboards.browser import (
    browser_env,
    launch_chromium,
    new_context,
    open_page,
    streamlit_server,
    wait_rendered,
)

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def app_pages() -> dict[str, str]:
    """{url_path: title} of every page the navigation shows, read from the `st.Page(...)` calls of app.py (the
    hidden entry at the root is the Overview again)."""
    pages = {}
    for node in ast.walk(ast.parse(APP.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Page":
            options = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            if options.get("visibility") != "hidden":
                pages[options["url_path"]] = options["title"]
    return pages


PAGES = app_pages()

# "None", "nan" or "NaN" as a word: what an empty value printed raw reads like.
RAW_EMPTY = re.compile(r"\b(?:None|nan|NaN)\b")


def test_the_page_list_is_the_apps():
    assert PAGES == {
        "overview": "Overview",
        "fulfilment": "Fulfilment",
        "inventory": "Inventory",
        "suppliers": "Suppliers",
        "returns": "Returns",
        "forecast": "Forecast",
        "replenishment": "Replenishment",
        "customers": "Customers & Finance",
        "production": "Production",
    }


@pytest.fixture(scope="module")
def server(warehouse, tmp_path_factory):
    """One dashboard server for the module, stopped at its end whatever happens."""
    with streamlit_server(browser_env(warehouse), tmp_path_factory.mktemp("streamlit") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        try:
            chromium = launch_chromium(playwright)
        except (FileNotFoundError, RuntimeError) as exc:
            pytest.fail(str(exc))
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def context(browser):
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture(scope="module")
def rendered(server, context, tmp_path_factory) -> dict[str, dict]:
    """Every page opened once at its URL and read when rendered, with its URL then and a screenshot."""
    screenshots = tmp_path_factory.mktemp("screenshots")
    page = context.new_page()
    states = {}
    for slug in PAGES:
        open_page(page, f"{server}/{slug}")
        states[slug] = {**wait_rendered(page), "url": page.url, "screenshot": screenshots / f"{slug}.png"}
        page.screenshot(path=states[slug]["screenshot"])
    page.close()
    print(f"screenshots: {screenshots}")
    return states


@pytest.mark.parametrize("slug", PAGES)
def test_every_page_renders_at_its_url(rendered, server, slug):
    state = rendered[slug]
    assert state["exceptions"] == [], state["exceptions"]
    assert state["url"] == f"{server}/{slug}"
    assert state["title"] == PAGES[slug]
    assert any(m["value"] and m["value"] != "—" for m in state["metrics"]), state["metrics"]
    assert state["screenshot"].stat().st_size > 10_000


@pytest.mark.parametrize("slug", PAGES)
def test_no_page_prints_none_or_nan(rendered, slug):
    text = rendered[slug]["text"]
    assert PAGES[slug] in text  # the text read is the page's
    found = [text[max(0, m.start() - 40) : m.end() + 40] for m in RAW_EMPTY.finditer(text)]
    assert found == []


def test_the_overview_shows_the_marts_otif(rendered, marts):
    shown = {m["label"]: m["value"] for m in rendered["overview"]["metrics"]}
    otif = marts.one("""
        select value from marts.kpi_monthly cross join meta.snapshot s
        where kpi = 'otif_rate' and month <= s.as_of_date order by month desc limit 1
    """)
    assert shown["OTIF"] == fmt(otif, "rate")


def test_a_reload_keeps_the_page(server, context):
    page = context.new_page()
    try:
        open_page(page, f"{server}/replenishment")
        assert wait_rendered(page)["title"] == "Replenishment"
        page.reload()
        assert wait_rendered(page)["title"] == "Replenishment"
        assert page.url == f"{server}/replenishment"
    finally:
        page.close()


def query(url: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)


def tile_values(state: dict) -> dict[str, str]:
    return {m["label"]: m["value"] for m in state["metrics"]}


def sidebar_choice(page, key: str) -> str:
    """The text a sidebar selectbox shows, its label and its choice (Streamlit marks each widget's element with its
    key; the choice is the value of its combobox input)."""
    widget = page.locator(f".st-key-{key}")
    return " ".join([widget.inner_text(), *(i.input_value() for i in widget.locator("input").all())])


def test_a_url_filter_survives_a_reload_and_a_changed_filter_changes_the_url(server, context, marts):
    warehouse, name = marts.one(
        "select warehouse_id, warehouse_name from marts.dim_warehouse where not is_unknown "
        "order by warehouse_id limit 1"
    )
    category = marts.one("select category from marts.dim_product where not is_unknown order by category limit 1")
    page = context.new_page()
    try:
        open_page(page, f"{server}/fulfilment?warehouse={warehouse}")
        first = wait_rendered(page)
        assert name in sidebar_choice(page, "filter_warehouse")
        page.reload()
        again = wait_rendered(page)
        assert query(page.url)["warehouse"] == [warehouse]
        assert name in sidebar_choice(page, "filter_warehouse")
        assert tile_values(again) == tile_values(first)
        # Unfiltered, the network's numbers differ from the warehouse's.
        open_page(page, f"{server}/fulfilment")
        assert tile_values(wait_rendered(page)) != tile_values(first)

        # Choosing a category the way a reader does writes it into the URL, next to what was there.
        open_page(page, f"{server}/fulfilment?warehouse={warehouse}")
        wait_rendered(page)
        page.locator(".st-key-filter_category").click()
        page.get_by_role("option", name=category, exact=True).click()
        page.wait_for_url(lambda url: query(url).get("category") == [category])
        wait_rendered(page)
        assert query(page.url)["warehouse"] == [warehouse]
        assert category in sidebar_choice(page, "filter_category")

        # Another page from the navigation: the filters hold, and its URL says so.
        page.get_by_role("link", name="Suppliers").first.click()
        page.wait_for_url(re.compile(r"/suppliers\?"))
        wait_rendered(page)
        assert query(page.url) == {"warehouse": [warehouse], "category": [category]}
    finally:
        page.close()


def test_a_drill_down_lands_on_its_rows_and_downloads_them(server, context, tmp_path):
    page = context.new_page()
    try:
        open_page(page, f"{server}/overview")
        tiles = tile_values(wait_rendered(page))
        late = int(tiles["Late open PO lines"].replace(",", ""))
        assert late > 0  # the demo world has late PO lines
        page.locator(".st-key-drill_open_late_po_lines button:visible").first.click()
        page.wait_for_url(re.compile(r"drill=late_po_lines"))
        state = wait_rendered(page)
        assert state["exceptions"] == []
        section = page.locator(".st-key-drill_section")
        assert "Late open PO lines" in section.locator("h3").inner_text()
        assert f"{late:,} rows." in section.inner_text()
        found = [state["text"][max(0, m.start() - 40) : m.end() + 40] for m in RAW_EMPTY.finditer(state["text"])]
        assert found == []
        with page.expect_download() as download:
            section.locator(".st-key-drill_download button:visible").first.click()
        saved = tmp_path / "late.csv"
        download.value.save_as(saved)
        lines = saved.read_text().splitlines()
        assert len(lines) == late + 1
        assert lines[0].startswith("PO,Line number,Supplier,SKU")

        # The drill-down is in the URL: a reload lands on the same rows.
        page.reload()
        wait_rendered(page)
        assert f"{late:,} rows." in page.locator(".st-key-drill_section").inner_text()
    finally:
        page.close()


def response_headers(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:  # a 404 carries the headers too
        return error.code, error.headers, ""


def test_every_response_forbids_framing_by_other_sites(server):
    status, _, index = response_headers(f"{server}/")
    assert status == 200
    script = re.search(r'src="\.?(/?static/[^"]+\.js)"', index)
    assert script, "no script in the index page"
    paths = ["/", "/replenishment", "/_stcore/health", "/_stcore/host-config", "/" + script[1].lstrip("/"), "/x.png"]
    for path in paths:
        status, headers, _ = response_headers(server + path)
        assert status in (200, 404), path
        assert headers.get_all("X-Frame-Options") == ["SAMEORIGIN"], path
        assert headers.get_all("Content-Security-Policy") == ["frame-ancestors 'self'"], path


def committed_subframe(frame) -> bool:
    return frame.parent_frame is not None and frame.url not in ("", "about:blank")


def test_chromium_refuses_to_show_the_dashboards_in_another_sites_frame(server, context, tmp_path):
    # Another origin (another port of the loopback address) whose page frames the Overview.
    (tmp_path / "frame.html").write_text(f'<iframe src="{server}/overview" width="800" height="600"></iframe>')
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    page = context.new_page()
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as other:
        thread = threading.Thread(target=other.serve_forever, daemon=True)
        thread.start()
        try:
            # The frame's navigation has committed (to the page or to an error page) once it leaves about:blank.
            with page.expect_event("framenavigated", predicate=committed_subframe, timeout=30_000) as navigated:
                open_page(page, f"http://127.0.0.1:{other.server_address[1]}/frame.html")
            frame = navigated.value
        finally:
            other.shutdown()
            page.close()
    # Chromium shows its own error page in place of a frame it refused.
    assert frame.url.startswith("chrome-error://"), frame.url


def test_frame_headers_replace_any_framing_policy_and_keep_the_others():
    headers = [
        (b"content-type", b"text/html"),
        (b"X-Frame-Options", b"ALLOWALL"),
        (b"Content-Security-Policy", b"default-src 'self'; frame-ancestors *"),
    ]
    assert with_frame_headers(headers) == [
        (b"content-type", b"text/html"),
        (b"Content-Security-Policy", b"default-src 'self'; frame-ancestors 'self'"),
        (b"x-frame-options", FRAME_HEADERS["X-Frame-Options"].encode()),
    ]
    assert dict(with_frame_headers([])) == {k.lower().encode(): v.encode() for k, v in FRAME_HEADERS.items()}
