"""Every page in a real browser: `streamlit run dashboards/app.py` on the fixture's data, each page opened in
headless Chromium (Debian's, installed by `make browser`). A page passes when Streamlit shows no exception block,
its title is there and it shows a KPI; the Overview's OTIF is the mart's. Screenshots are written under the test's
tmp directory for a human to look at."""

from __future__ import annotations

import pytest

from dashboards.browser import Chromium, browser_env, chromium_path, streamlit_server
from dashboards.kpis import fmt

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


def test_every_page_renders_in_chromium(warehouse, marts, tmp_path):
    if chromium_path() is None:
        pytest.fail("chromium is not installed: `make browser` installs it")
    screenshots = tmp_path / "screenshots"
    rendered = {}
    # Both context managers stop their process in a finally block, whatever happens in here.
    with (
        streamlit_server(browser_env(warehouse), tmp_path / "streamlit.log") as url,
        Chromium(tmp_path / "chromium-profile", height=2000) as browser,
    ):
        for slug in PAGES:
            browser.navigate(f"{url}/{slug}")
            rendered[slug] = browser.wait_rendered(timeout=120)
            browser.screenshot(screenshots / f"{slug}.png")
    print(f"screenshots: {screenshots}")

    for slug, title in PAGES.items():
        state = rendered[slug]
        assert state["exceptions"] == [], (slug, state["exceptions"])
        assert state["title"] == title, slug
        assert any(m["value"] and m["value"] != "–" for m in state["metrics"]), (slug, state["metrics"])
        assert (screenshots / f"{slug}.png").stat().st_size > 10_000, slug

    shown = {m["label"]: m["value"] for m in rendered["overview"]["metrics"]}
    otif = marts.one("""
        select value from marts.kpi_monthly cross join meta.snapshot s
        where kpi = 'otif_rate' and last_day(month) <= s.as_of_date order by month desc limit 1
    """)
    assert shown["OTIF"] == fmt(otif, "rate")
