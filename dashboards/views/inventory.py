"""Inventory: stock value over time, stockouts, how many days the stock covers, and the aged and excess stock."""

import streamlit as st

from dashboards import charts, drill, filters, formatting, kpis, queries, queries_drill

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
    if monthly.height:
        drill.button("stockout_positions")
stock_value = position["stock_value"].sum()
# A position the inventory feed stopped reporting is not known to be out of stock today (is_stale).
out_now = queries_drill.out_of_stock_now(sel.path, sel.category, sel.warehouse)
with c:
    st.metric(
        "Stock value now",
        kpis.fmt(stock_value, "money"),
        border=True,
        help="On hand x current unit cost on the as-of date.",
    )
    if position.height:
        drill.button("positions")
with d:
    st.metric(
        "Out of stock now",
        f"{out_now.height:,}",
        border=True,
        help="Sku-warehouses with nothing on hand on the as-of date (those the feed stopped reporting left out).",
    )
    if out_now.height:
        drill.button("out_of_stock_now")
e.metric("Sku-warehouses", f"{position.height:,}", border=True)
st.caption(
    "Inventory value and stockout rate by month for the category and warehouse filters; the rest on the as-of "
    f"date{f' ({as_of:%d %b %Y})' if as_of else ''}."
)

latest = monthly["month"][-1] if monthly.height else sel.last_month
drill.show(
    {
        "stockout_positions": drill.Drill(
            f"Sku-warehouses out of stock, {filters.month_label(latest)}",
            lambda: queries_drill.stockout_positions(sel.path, latest, latest, sel.category, sel.warehouse),
            "Days with nothing on hand in the tile's month, under the filters: they add up to the stockout rate's "
            "days out of stock.",
        ),
        "positions": drill.Drill(
            "Stock positions now",
            lambda: position,
            "Every sku-warehouse on the as-of date under the filters, the most valuable first: their stock values add "
            "up to the stock value now.",
        ),
        "out_of_stock_now": drill.Drill(
            "Out of stock now",
            lambda: out_now,
            "Nothing on hand on the as-of date, under the filters, the most ordered in 28 days first.",
        ),
    },
    "inventory",
)

left, right = st.columns(2)
with left:
    st.subheader("Stock value, end of day")
    daily = queries.stock_daily(sel.path, *sel.months, sel.category, sel.warehouse)
    st.altair_chart(charts.daily_area(daily, "snapshot_date", "stock_value", "money", "stock value"), width="stretch")
with right:
    st.subheader("Stockout rate")
    st.altair_chart(
        charts.trend(monthly, "month", {"stockout_rate": "stockout rate"}, "rate", zero=True, targets=kpis.targets()),
        width="stretch",
    )
    st.caption("Dashed: the target.")

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
