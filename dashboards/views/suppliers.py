"""Suppliers: the 90-day scorecard, lead-time distributions and the open purchase orders that are late."""

import streamlit as st

from dashboards import charts, drill, filters, formatting, kpis, queries, queries_drill

sel = filters.selection()
st.title("Suppliers")

monthly = queries.kpi_monthly(sel.path, queries.SOURCE_KPIS, *sel.months)
late = queries_drill.late_open_po_lines(sel.path, sel.category, sel.warehouse)
TILE_DRILLS = {
    "supplier_on_time_rate": "po_lines_late",
    "supplier_in_full_rate": "po_lines_short",
    "supplier_lead_time_days": "po_lines_received",
    "supplier_defect_ppm": "po_lines_rejected",
}
columns = st.columns(len(queries.SOURCE_KPIS) + 1)
latest: dict[str, object] = {}
for column, name in zip(columns, queries.SOURCE_KPIS, strict=False):
    with column:
        part = monthly.filter(kpi=name)
        kpis.tile(name, list(zip(part["month"], part["value"], strict=True)))
        if part.height:
            latest[name] = part["month"][-1]
            if name in TILE_DRILLS:
                drill.button(TILE_DRILLS[name])
with columns[-1]:
    st.metric(
        "Late open PO lines",
        f"{late.height:,}",
        border=True,
        help="Open PO lines past their promised date on the as-of date (category and warehouse apply).",
    )
    if late.height:
        drill.button("late_po_lines")
filters.not_applied(
    sel,
    {
        "category": "the monthly Source KPIs above are network-wide (marts.kpi_monthly).",
        "warehouse": "the monthly Source KPIs above are network-wide (marts.kpi_monthly).",
        "channel": "purchasing has no sales channel.",
    },
)


def _received(miss: str, name: str):
    month = latest.get(name, sel.last_month)
    return lambda: queries_drill.received_po_lines(sel.path, miss, month, month)


drill.show(
    {
        "po_lines_late": drill.Drill(
            f"PO lines received late, {filters.month_label(latest.get('supplier_on_time_rate', sel.last_month))}",
            _received("late", "supplier_on_time_rate"),
            "Received in the tile's month after their promised date; network-wide, as the tile.",
        ),
        "po_lines_short": drill.Drill(
            f"PO lines received short, {filters.month_label(latest.get('supplier_in_full_rate', sel.last_month))}",
            _received("short", "supplier_in_full_rate"),
            "Received in the tile's month with fewer units than ordered; network-wide, as the tile.",
        ),
        "po_lines_received": drill.Drill(
            f"PO lines received, {filters.month_label(latest.get('supplier_lead_time_days', sel.last_month))}",
            _received("received", "supplier_lead_time_days"),
            "Received in the tile's month: the lead time is their mean; network-wide, as the tile.",
        ),
        "po_lines_rejected": drill.Drill(
            f"PO lines with units rejected, {filters.month_label(latest.get('supplier_defect_ppm', sel.last_month))}",
            _received("rejected", "supplier_defect_ppm"),
            "Received in the tile's month with units rejected at inbound quality control; network-wide, as the tile.",
        ),
        "late_po_lines": drill.Drill(
            "Late open PO lines",
            lambda: late,
            "Open on the as-of date and past their promised date, under the category and warehouse filters.",
        ),
    },
    "suppliers",
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
            "supplier_on_time_rate": st.column_config.NumberColumn(
                "On time", format="percent", step=0.001, help="Green: meets the target; red: misses it."
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
        targets={"supplier_on_time_rate": kpis.targets().get("supplier_on_time_rate")},
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
open_pos = queries.open_purchase_orders(sel.path, sel.category, sel.warehouse)
formatting.dataframe(
    open_pos,
    column_config={
        "days_late": st.column_config.NumberColumn("days late", help="negative: due in that many days"),
        "ordered_value": st.column_config.NumberColumn(format="localized"),
    },
)
