"""Overview: the headline KPIs of the latest month in the selected range, each against the month before with a
sparkline over the range, and what needs a look today."""

import polars as pl
import streamlit as st

from dashboards import filters, kpis, queries, queries_replenishment

sel = filters.selection()
st.title("Overview")
meta = queries.snapshot_meta(sel.path)
st.markdown(kpis.freshness(meta))

# kpi_monthly is network-wide: one row per KPI and month, no category, warehouse or channel.
filters.not_applied(
    sel,
    {
        name: "the headline KPIs are network-wide (marts.kpi_monthly); the Fulfilment, Inventory, Returns, Forecast "
        "and Replenishment pages apply it."
        for name in ("category", "warehouse", "channel")
    },
)

monthly = queries.kpi_monthly(sel.path, queries.HEADLINE_KPIS, *sel.months)
points = {name: [] for name in queries.HEADLINE_KPIS}
for row in monthly.iter_rows(named=True):
    points[row["kpi"]].append((row["month"], row["value"]))

wape = queries.forecast_wape(sel.path)
wape_points = [(f"run of {r['created_at']:%d %b %Y}", r["wape"]) for r in wape["history"].iter_rows(named=True)]
if wape_points:
    # The headline is what the marts use now (each series' latest run); the runs before it give change and trend.
    wape_points[-1] = (wape_points[-1][0], wape["wape"])
else:
    wape_points = [("current", wape["wape"])] if wape["wape"] is not None else []

tiles = [*queries.HEADLINE_KPIS, "forecast_wape"]
for start in range(0, len(tiles), 3):
    for column, name in zip(st.columns(3), tiles[start : start + 3], strict=False):
        with column:
            if name == "forecast_wape":
                kpis.tile(name, wape_points, note=f"{wape['series']} series, latest run per series")
            else:
                kpis.tile(name, points[name])

as_of = meta["as_of_date"]
st.caption(
    f"Each tile: the latest month of {filters.month_label(sel.first_month)} – {filters.month_label(sel.last_month)} "
    f"that has the KPI, against the month before, and the months of the range as a sparkline. The range ends with "
    f"the month of the as-of date ({as_of:%d %b %Y}), month to date (MTD) unless moved. "
    "Forecast WAPE: the latest run of each series, against the full run before."
)

st.subheader("Needs a look")
exceptions = queries_replenishment.replenishment_exceptions(sel.path, None, None)
by_type = dict(exceptions.group_by("exception_type").len().rows())
late_pos = queries.open_purchase_orders(sel.path, None, None).filter(pl.col("days_late") > 0)
a, b, c, d = st.columns(4)
a.metric(
    "Stockouts within lead time",
    by_type.get("stockout_within_lead_time", 0),
    border=True,
    help="Sku-warehouses whose projected stockout comes before a new order could arrive.",
)
b.metric(
    "Excess stock positions",
    by_type.get("excess_stock", 0),
    border=True,
    help="Sku-warehouses with more days of supply than the excess threshold, or stock and no demand.",
)
c.metric(
    "Forecast error jumps",
    by_type.get("forecast_error_jump", 0),
    border=True,
    help="Series whose latest backtest error is far above their usual.",
)
d.metric("Late open PO lines", late_pos.height, border=True, help="Open PO lines past their promised date.")
st.page_link(
    "views/replenishment.py", label="Replenishment: orders to place and exceptions", icon=":material/arrow_forward:"
)
st.page_link("views/suppliers.py", label="Suppliers: scorecard and open POs", icon=":material/arrow_forward:")
