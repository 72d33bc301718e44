"""Every page in a real browser: `streamlit run` as dashboards/serve.py builds it, on the fixture's data, each page
opened in headless Chromium (Debian's, installed by `make browser`). A page passes when Streamlit shows no exception
block, its title is there and it shows a KPI; the Overview's OTIF is the mart's. Screenshots are written under the
test's tmp directory for a human to look at. The same server answers the header tests: every HTTP response forbids
framing by another origin, and Chromium refuses to show the dashboards in another site's frame."""

from __future__ import annotations

import contextlib
import functools
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dashboards.browser import Chromium, browser_env, chromium_path, streamlit_server
from dashboards.kpis import fmt
from dashboards.serve import FRAME_HEADERS, with_frame_headers

pytestmark = pytest.mark.slow

PAGES = {
    "overview": "Overview",
    "fulfilment": "Fulfilment",
    "inventory": "Inventory",
    "suppliers": "Suppliers",
    "returns": "Returns",
    "forecast": "Forecast",
    "replenishment": "Replenishment",
}


@pytest.fixture(scope="module")
def server(warehouse, tmp_path_factory):
    """One dashboard server for the module, stopped at its end whatever happens."""
    with streamlit_server(browser_env(warehouse), tmp_path_factory.mktemp("streamlit") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if chromium_path() is None:
        pytest.fail("chromium is not installed: `make browser` installs it")
    with Chromium(tmp_path_factory.mktemp("chromium") / "profile", height=2000) as chromium:
        yield chromium


def test_every_page_renders_in_chromium(server, browser, marts, tmp_path):
    screenshots = tmp_path / "screenshots"
    rendered = {}
    for slug in PAGES:
        browser.navigate(f"{server}/{slug}")
        rendered[slug] = browser.wait_rendered(timeout=120)
        browser.screenshot(screenshots / f"{slug}.png")
    print(f"screenshots: {screenshots}")

    for slug, title in PAGES.items():
        state = rendered[slug]
        assert state["exceptions"] == [], (slug, state["exceptions"])
        assert state["title"] == title, slug
        assert any(m["value"] and m["value"] != "—" for m in state["metrics"]), (slug, state["metrics"])
        assert (screenshots / f"{slug}.png").stat().st_size > 10_000, slug

    shown = {m["label"]: m["value"] for m in rendered["overview"]["metrics"]}
    otif = marts.one("""
        select value from marts.kpi_monthly cross join meta.snapshot s
        where kpi = 'otif_rate' and month <= s.as_of_date order by month desc limit 1
    """)
    assert shown["OTIF"] == fmt(otif, "rate")


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


def wait_for_frame(browser: Chromium, timeout: float = 30) -> dict:
    """The framing page's one frame once its navigation has committed (to the page or to an error page)."""
    deadline = time.monotonic() + timeout
    while True:
        children = browser.send("Page.getFrameTree")["frameTree"].get("childFrames", [])
        if children and children[0]["frame"]["url"] not in ("", "about:blank"):
            (frame,) = children
            return frame["frame"]
        assert time.monotonic() < deadline, f"the frame did not load within {timeout:.0f} s: {children}"
        time.sleep(0.1)


def test_chromium_refuses_to_show_the_dashboards_in_another_sites_frame(server, browser, tmp_path):
    # Another origin (another port of the loopback address) whose page frames the Overview.
    (tmp_path / "frame.html").write_text(f'<iframe src="{server}/overview" width="800" height="600"></iframe>')
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as other:
        thread = threading.Thread(target=other.serve_forever, daemon=True)
        thread.start()
        try:
            browser.navigate(f"http://127.0.0.1:{other.server_address[1]}/frame.html")
            frame = wait_for_frame(browser)
        finally:
            with contextlib.suppress(Exception):
                other.shutdown()
    # Chromium shows its own error page in place of a frame it refused.
    assert frame["url"].startswith("chrome-error://"), frame


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
