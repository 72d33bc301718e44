"""Replenishment: what to order now, in quantities a buyer can place (whole packs, at least the supplier's minimum),
and which stockouts are coming (marts.replenishment), sortable and downloadable; the open PO lines to expedite
(marts.replenishment_expedite); and the exceptions a planner should look at (marts.replenishment_exceptions)."""

import polars as pl
import streamlit as st

from dashboards import drill, filters, kpis
from dashboards import queries_replenishment as queries

EXCEPTIONS = {
    "stockout_within_lead_time": "Stockout within lead time",
    "excess_stock": "Excess stock",
    "forecast_error_jump": "Forecast error jump",
}

sel = filters.selection()
st.title("Replenishment")
filters.not_applied(sel, {"channel": "replenishment is per sku and warehouse, over all channels."})

totals = queries.replenishment_totals(sel.path, sel.category, sel.warehouse)
exceptions = queries.replenishment_exceptions(sel.path, sel.category, sel.warehouse)
within_lead_time = exceptions.filter(exception_type="stockout_within_lead_time").height

rows = queries.replenishment(sel.path, sel.category, sel.warehouse)
a, b, c, d = st.columns(4)
with a:
    st.metric(
        "Recommended order value",
        kpis.fmt(totals["recommended_order_value"], "money"),
        border=True,
        help="Sum of recommended_order_qty x current unit cost.",
    )
    if totals["to_order"]:
        drill.button("to_order", key="value")
with b:
    st.metric(
        "Recommended units",
        kpis.fmt(totals["recommended_order_qty"], "count"),
        border=True,
        help=f"Over {totals['to_order']:,} of {totals['positions']:,} sku-warehouses.",
    )
    if totals["to_order"]:
        drill.button("to_order", key="units")
with c:
    st.metric(
        "Projected stockouts",
        f"{totals['projected_stockouts']:,}",
        border=True,
        help="Sku-warehouses whose stock runs out within the forecast horizon, open POs counted on arrival. "
        "Positions with stale stock have no projection.",
    )
    if totals["projected_stockouts"]:
        drill.button("projected_stockouts")
with d:
    st.metric(
        "Within lead time",
        f"{within_lead_time:,}",
        border=True,
        help="Projected stockouts before an order placed today could arrive.",
    )
    if within_lead_time:
        drill.button("stockout_within_lead_time")
drill.show(
    {
        "to_order": drill.Drill(
            "Sku-warehouses to order",
            lambda: rows.filter(pl.col("recommended_order_qty") > 0),
            "A recommended order quantity above zero, under the category and warehouse filters.",
            codes={"selected_model": "model"},
        ),
        "projected_stockouts": drill.Drill(
            "Projected stockouts",
            lambda: rows.filter(pl.col("projected_stockout_date").is_not_null()),
            "Stock runs out within the forecast horizon, under the category and warehouse filters.",
            codes={"selected_model": "model"},
        ),
        "stockout_within_lead_time": drill.Drill(
            "Stockouts within lead time",
            lambda: exceptions.filter(exception_type="stockout_within_lead_time").drop("exception_type"),
            "Projected before an order placed today could arrive, under the category and warehouse filters.",
        ),
    },
    "replenishment",
)
if totals["as_of_date"] is not None:
    st.caption(
        f"As of {totals['as_of_date']:%d %b %Y}: service level {totals['service_level']:.0%}, review "
        f"period {totals['review_period_days']} days (docs/kpi-definitions.md, Plan). The month range does "
        "not apply."
    )
if totals["stale_positions"]:
    st.warning(
        f"{totals['stale_positions']:,} sku-warehouses have stale stock: their latest inventory snapshot is older "
        "than the stale-position limit (dbt var stale_position_days). They get no projected stockout; count them "
        "before placing their orders (Show: Stale stock).",
        icon=":material/schedule:",
    )

st.subheader("Recommended orders and projected stockouts")
VIEWS = {
    "To order": pl.col("recommended_order_qty") > 0,
    "Projected stockouts": pl.col("projected_stockout_date").is_not_null(),
    "Stale stock": pl.col("is_stale"),
    "All": pl.lit(True),
}
view = st.radio("Show", list(VIEWS), horizontal=True, key="replenishment_view", label_visibility="collapsed")
shown = rows.filter(VIEWS[view])
st.caption(
    f"{shown.height:,} of {rows.height:,} sku-warehouses, the earliest projected stockout first; click a "
    "column header to sort. The order quantity is the need rounded up to whole units, then to the supplier's "
    "minimum order (MOQ), then to whole packs."
)
st.dataframe(
    shown,
    hide_index=True,
    column_config={
        "avg_daily_forecast": st.column_config.NumberColumn("daily forecast", format="%.2f"),
        "lead_time_days": st.column_config.NumberColumn("lead time", format="%.1f"),
        "safety_stock": st.column_config.NumberColumn(format="%.1f"),
        "reorder_point": st.column_config.NumberColumn(format="%.1f"),
        "forecast_review_period_demand": st.column_config.NumberColumn("review-period demand", format="%.1f"),
        "recommended_order_qty": st.column_config.NumberColumn(
            "order qty", format="%d", help="What to place: whole packs, at least the MOQ."
        ),
        "order_multiple": st.column_config.NumberColumn("pack", format="%d", help="Units per case or pack."),
        "min_order_qty": st.column_config.NumberColumn("MOQ", format="%d", help="The supplier's minimum order."),
        "order_need_qty": st.column_config.NumberColumn(
            "need", format="%.1f", help="The unrounded need: reorder point + review-period demand - position."
        ),
        "recommended_order_value": st.column_config.NumberColumn("order value", format="localized"),
        "projected_stockout_date": st.column_config.DateColumn("projected stockout"),
        "is_stale": st.column_config.CheckboxColumn(
            "stale stock", help="The latest snapshot is too old to project a stockout from."
        ),
        "last_seen_date": st.column_config.DateColumn("stock last seen"),
    },
)
st.download_button(
    "Download as CSV",
    shown.write_csv(),
    file_name=f"replenishment-{totals['as_of_date']}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)

st.subheader("Purchase orders to expedite")
expedite = queries.replenishment_expedite(sel.path, sel.category, sel.warehouse)
if expedite.is_empty():
    st.success("No open purchase order arrives after a stockout it could prevent.")
else:
    st.caption(
        f"{expedite.height:,} open PO lines promised after the projected stockout of their sku and warehouse, "
        "which falls within the lead time (an order placed today would arrive too late): ask the supplier to ship "
        "them sooner. Days at risk = promised date - projected stockout."
    )
    st.dataframe(
        expedite,
        hide_index=True,
        column_config={
            "projected_stockout_date": st.column_config.DateColumn("projected stockout"),
            "days_until_stockout": st.column_config.NumberColumn("days to stockout", format="%d"),
            "promised_date": st.column_config.DateColumn("promised"),
            "open_qty": st.column_config.NumberColumn("open qty", format="%d"),
            "days_at_risk": st.column_config.NumberColumn("days at risk", format="%d"),
        },
    )

st.subheader("Exceptions")
if exceptions.is_empty():
    st.success("No exceptions for this selection.")
else:
    counts = dict(exceptions.group_by("exception_type").len().rows())
    tabs = st.tabs([f"{label} ({counts.get(kind, 0)})" for kind, label in EXCEPTIONS.items()])
    for tab, kind in zip(tabs, EXCEPTIONS, strict=True):
        with tab:
            part = exceptions.filter(exception_type=kind).drop("exception_type")
            if part.is_empty():
                st.success("None.")
            else:
                st.dataframe(part, hide_index=True)
