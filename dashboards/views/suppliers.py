"""Suppliers: the 90-day scorecard, lead-time distributions and the open purchase orders that are late."""

import polars as pl
import streamlit as st

from dashboards import charts, filters, formatting, kpis, queries

sel = filters.selection()
st.title("Suppliers")

monthly = queries.kpi_monthly(sel.path, queries.SOURCE_KPIS, *sel.months)
open_pos = queries.open_purchase_orders(sel.path, sel.category, sel.warehouse)
late = open_pos.filter(pl.col("days_late") > 0)
columns = st.columns(len(queries.SOURCE_KPIS) + 1)
for column, name in zip(columns, queries.SOURCE_KPIS, strict=False):
    with column:
        part = monthly.filter(kpi=name)
        kpis.tile(name, list(zip(part["month"], part["value"], strict=True)))
columns[-1].metric(
    "Late open PO lines",
    f"{late.height:,}",
    border=True,
    help="Open PO lines past their promised date on the as-of date (category and warehouse apply).",
)
filters.not_applied(
    sel,
    {
        "category": "the monthly Source KPIs above are network-wide (marts.kpi_monthly).",
        "warehouse": "the monthly Source KPIs above are network-wide (marts.kpi_monthly).",
        "channel": "purchasing has no sales channel.",
    },
)

st.subheader("Scorecard")
card = queries.supplier_scorecard(sel.path)
if card.height:
    st.caption(
        f"Last 90 days: {card['window_start'][0]:%d %b %Y} – {card['window_end'][0]:%d %b %Y} "
        "(marts.kpi_supplier_scorecard; the month range and the filters do not apply). Customer defect rate: "
        "units returned as defective / units shipped of the skus the supplier is primary for."
    )
    formatting.dataframe(
        card.drop("window_start", "window_end"),
        column_config={
            "supplier_on_time_rate": st.column_config.ProgressColumn(
                "on time", format="percent", min_value=0, max_value=1
            ),
            "supplier_in_full_rate": st.column_config.ProgressColumn(
                "in full", format="percent", min_value=0, max_value=1
            ),
            "supplier_lead_time_days": st.column_config.NumberColumn("lead time, days", format="%.1f"),
            "supplier_lead_time_stddev_days": st.column_config.NumberColumn("lead time sd", format="%.1f"),
            "contracted_lead_time_days": st.column_config.NumberColumn("contracted, days"),
            "supplier_defect_ppm": st.column_config.NumberColumn("inbound defect ppm", format="%.0f"),
            "customer_defect_rate": st.column_config.NumberColumn("customer defect rate", format="percent"),
            "po_value": st.column_config.NumberColumn("PO value", format="localized"),
        },
    )

st.subheader("Lead time per supplier")
lead_times = queries.supplier_lead_times(sel.path, *sel.months, sel.category, sel.warehouse)
if lead_times.is_empty():
    st.info("No PO lines received in the selection.")
else:
    st.altair_chart(charts.box(lead_times, "supplier_name", reference="contracted_lead_time_days"), width="stretch")
    st.caption(
        f"PO lines received {filters.month_label(sel.first_month)} – {filters.month_label(sel.last_month)}: "
        "whiskers 10th-90th percentile, box the middle half, white the median, red the contracted lead time."
    )

st.subheader("Open purchase orders")
if late.is_empty():
    st.success("No open PO line is past its promised date.")
else:
    st.error(f"{late.height:,} open PO lines are late, {late['open_qty'].sum():,} units.")
formatting.dataframe(
    open_pos,
    column_config={
        "days_late": st.column_config.NumberColumn("days late", help="negative: due in that many days"),
        "ordered_value": st.column_config.NumberColumn(format="localized"),
    },
)
