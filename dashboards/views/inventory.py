"""Inventory: stock value over time, stockouts, how many days the stock covers, and the aged and excess stock."""

import polars as pl
import streamlit as st

from dashboards import charts, filters, formatting, kpis, queries

sel = filters.selection()
st.title("Inventory")
filters.not_applied(sel, {"channel": "stock is held per warehouse and sku, not per sales channel."})

monthly = queries.inventory_monthly(sel.path, *sel.months, sel.category, sel.warehouse)
position = queries.inventory_position(sel.path, sel.category, sel.warehouse)
as_of = position["snapshot_date"].max() if position.height else None

a, b, c, d, e = st.columns(5)
with a:
    kpis.tile("inventory_value", list(zip(monthly["month"], monthly["inventory_value"], strict=True)))
with b:
    kpis.tile("stockout_rate", list(zip(monthly["month"], monthly["stockout_rate"], strict=True)))
stock_value = position["stock_value"].sum()
# A position the inventory feed stopped reporting is not known to be out of stock today (is_stale).
out_now = position.filter((pl.col("on_hand_qty") == 0) & ~pl.col("is_stale"))
c.metric(
    "Stock value now",
    kpis.fmt(stock_value, "money"),
    border=True,
    help="On hand x current unit cost on the as-of date (kpi_inventory_position).",
)
d.metric(
    "Out of stock now",
    f"{out_now.height:,}",
    border=True,
    help="Sku-warehouses with nothing on hand on the as-of date.",
)
e.metric("Sku-warehouses", f"{position.height:,}", border=True)
st.caption(
    "Inventory value and stockout rate as kpi_monthly defines them, for the category and warehouse filters "
    f"(marts.kpi_inventory_monthly); the rest on the as-of date{f' ({as_of:%d %b %Y})' if as_of else ''}."
)

left, right = st.columns(2)
with left:
    st.subheader("Stock value, end of day")
    daily = queries.stock_daily(sel.path, *sel.months, sel.category, sel.warehouse)
    st.altair_chart(charts.daily_area(daily, "snapshot_date", "stock_value", "money", "stock value"), width="stretch")
with right:
    st.subheader("Stockout rate")
    st.altair_chart(
        charts.trend(monthly, "month", {"stockout_rate": "stockout rate"}, "rate", zero=True), width="stretch"
    )

left, right = st.columns(2)
with left:
    st.subheader("Days of supply")
    st.altair_chart(
        charts.histogram(position, "days_of_supply", "days of supply (180 = 180 or more)", clip=180), width="stretch"
    )
    st.caption("Available stock / average daily demand of the last 28 days; positions without demand are left out.")
with right:
    st.subheader("Stock value by cover")
    cover = queries.stock_by_cover(sel.path, sel.category, sel.warehouse)
    st.altair_chart(
        charts.bars(cover, "cover", "stock_value", "money", extra_tooltip={"positions": "count"}, sort_by_value=False),
        width="stretch",
    )

st.subheader("Aged and excess stock")
excess = queries.excess_stock(sel.path, sel.category, sel.warehouse)
if excess.is_empty():
    st.success("No excess stock for this selection.")
else:
    st.caption(
        f"{excess.height:,} positions worth {kpis.fmt(excess['stock_value'].sum(), 'money')}: more days of "
        "supply than the threshold, or stock with no demand in 28 days (marts.replenishment_exceptions)."
    )
    formatting.dataframe(excess)

st.subheader("Out of stock now")
if out_now.is_empty():
    st.success("Nothing is out of stock.")
else:
    formatting.dataframe(
        out_now.select("sku", "product_name", "category", "warehouse_name", "units_ordered_28d", "stockout_days_28d")
    )
