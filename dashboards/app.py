"""Supply-chain KPI dashboards: `scm dashboard` (which serves this through dashboards/server.py).

The entry point runs on every rerun of every page: it finds the published snapshot, draws the navigation, the
common filters and the data freshness in the sidebar, then runs the chosen page. The pages read only the published
snapshot (pipelines/snapshot.py), never the warehouse a run is writing, so a run in progress changes nothing here
until it publishes; the next rerun after that reads the new snapshot. When snapshots/CURRENT is unusable, the newest
valid snapshot is shown under a warning that names the problem.
"""

from __future__ import annotations

import streamlit as st

from dashboards import filters, kpis, queries
from pipelines import snapshot

APP_TITLE = "Supply-chain KPIs"

st.set_page_config(page_title=APP_TITLE, page_icon=":material/local_shipping:", layout="wide")

# The pages live in views/, not pages/: a server that finds a pages/ folder beside the entry point runs its first
# script run the old way (each file of pages/ as a page on its own), so a bookmarked /replenishment opened right
# after a restart would run the page without this frame.
# The Overview is at /overview like every page at its name, and also at the root: a default page is served only at
# the root (its url_path is not matched), so the root is a second, hidden entry for the same script.
PAGES = [
    st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview"),
    st.Page("views/fulfilment.py", title="Fulfilment", icon=":material/local_shipping:", url_path="fulfilment"),
    st.Page("views/inventory.py", title="Inventory", icon=":material/inventory_2:", url_path="inventory"),
    st.Page("views/suppliers.py", title="Suppliers", icon=":material/factory:", url_path="suppliers"),
    st.Page("views/returns.py", title="Returns", icon=":material/assignment_return:", url_path="returns"),
    st.Page("views/forecast.py", title="Forecast", icon=":material/query_stats:", url_path="forecast"),
    st.Page("views/replenishment.py", title="Replenishment", icon=":material/shopping_cart:", url_path="replenishment"),
    st.Page("views/customers.py", title="Customers & Finance", icon=":material/payments:", url_path="customers"),
    st.Page(
        "views/production.py", title="Production", icon=":material/precision_manufacturing:", url_path="production"
    ),
    st.Page(
        "views/overview.py",
        title="Overview",
        icon=":material/dashboard:",
        url_path="home",
        default=True,
        visibility="hidden",
    ),
]

try:
    path, warning = queries.current_snapshot()
except snapshot.NoSnapshot as exc:
    # Navigation is still declared (hidden) so that any page's URL lands on this message.
    st.navigation(PAGES, position="hidden")
    st.title(APP_TITLE)
    st.info(str(exc), icon=":material/hourglass_empty:")
    st.stop()

page = st.navigation(PAGES)
st.set_page_config(page_title=f"{page.title} · {APP_TITLE}")
if warning:  # snapshots/CURRENT is unusable: these pages show an older snapshot, and say so
    st.warning(warning, icon=":material/warning:")
filters.sidebar(path)
meta = queries.snapshot_meta(path)
if stale := kpis.staleness(meta["as_of_date"]):
    st.warning(stale, icon=":material/schedule:")
with st.sidebar:
    st.divider()
    st.markdown(kpis.freshness(meta))
    st.caption(
        f"{meta['files']:,} files landed, {meta['rejected_files']:,} rejected, "
        f"{meta['rows_quarantined']:,} rows quarantined"
        + (f", {meta['skipped_files']:,} other entries not loaded." if meta["skipped_files"] else ".")
    )
page.run()
