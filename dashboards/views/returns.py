"""Returns: the return rate over time, why goods come back (Pareto), what happens to them, and which categories
and suppliers they come from."""

import polars as pl
import streamlit as st

from dashboards import charts, drill, filters, kpis, labels, queries, queries_drill

sel = filters.selection()
st.title("Returns")
filters.not_applied(
    sel,
    {
        "warehouse": "the return marts have no warehouse (a return is booked against the order line's product).",
        "channel": "the return marts have no channel.",
    },
)

rates = queries.return_rates_monthly(sel.path, *sel.months, sel.category)
breakdown = queries.returns_breakdown(sel.path, *sel.months, sel.category)
reasons = breakdown.filter(dimension="reason")
dispositions = breakdown.filter(dimension="disposition")

a, b, c, d = st.columns(4)
with a:
    kpis.tile("return_rate_units", list(zip(rates["month"], rates["return_rate_units"], strict=True)))
    if rates.height:
        drill.button("returns_of_orders", key="return_rate_units")
with b:
    kpis.tile("return_value_rate", list(zip(rates["month"], rates["return_value_rate"], strict=True)))
    if rates.height:
        drill.button("returns_of_orders", key="return_value_rate")
with c:
    st.metric(
        "Returns requested",
        f"{reasons['returns'].sum():,}",
        border=True,
        help="Returns requested in the selected months (by request date).",
    )
    if reasons.height:
        drill.button("returns_requested")
quality = reasons.filter(pl.col("is_quality_reason"))["units_returned"].sum()
total_units = reasons["units_returned"].sum()
with d:
    st.metric(
        "Quality returns",
        kpis.fmt(quality / total_units if total_units else None, "rate"),
        border=True,
        help="Share of returned units whose reason (damaged, defective, wrong item) makes an order imperfect.",
    )
    if quality:
        drill.button("quality_returns")
st.caption(
    "Return rates by the month the returned line was ordered; reasons and dispositions by the month the return "
    "was requested."
)

latest = rates["month"][-1] if rates.height else sel.last_month
span = f"{filters.month_label(sel.first_month)} – {filters.month_label(sel.last_month)}"
CODES = {"reason_code": "reason", "disposition": "disposition"}
drills = {
    "returns_of_orders": drill.Drill(
        f"Returns of the lines ordered in {filters.month_label(latest)}",
        lambda: queries_drill.returns_of_orders(sel.path, latest, latest, sel.category),
        "The return rates' month is the returned line's order month; their units are the rate's units returned "
        "(category filter applied).",
        codes=CODES,
    ),
    "returns_requested": drill.Drill(
        f"Returns requested, {span}",
        lambda: queries_drill.returns_requested(sel.path, *sel.months, sel.category),
        "By request date, under the category filter.",
        codes=CODES,
    ),
    "quality_returns": drill.Drill(
        f"Quality returns requested, {span}",
        lambda: queries_drill.returns_requested(sel.path, *sel.months, sel.category, quality_only=True),
        "Damaged, defective or wrong item, by request date, under the category filter.",
        codes=CODES,
    ),
    **{
        f"reason_{code}": drill.Drill(
            f"Returns requested as {labels.code('reason', code)}, {span}",
            lambda code=code: queries_drill.returns_requested(sel.path, *sel.months, sel.category, reason=code),
            "By request date, under the category filter.",
            codes=CODES,
        )
        for code in reasons["member"].to_list()
    },
}
drill.show(drills, "returns")

left, right = st.columns(2)
with left:
    st.subheader("Return rate")
    st.altair_chart(
        charts.trend(
            rates,
            "month",
            {"return_rate_units": "units", "return_value_rate": "value"},
            "rate",
            zero=True,
            targets=kpis.targets(),
        ),
        width="stretch",
    )
with right:
    st.subheader("Reasons (Pareto, units)")
    if reasons.is_empty():
        st.info("No returns in the selection.")
    else:
        st.altair_chart(charts.pareto(reasons, "member", "units_returned"), width="stretch")
        st.selectbox(
            "Show the returns of a reason",
            [None, *reasons["member"].to_list()],
            format_func=lambda c: "Choose a reason" if c is None else labels.code("reason", c),
            key="returns_reason",
            on_change=lambda: drill.select(
                None if st.session_state.returns_reason is None else f"reason_{st.session_state.returns_reason}"
            ),
        )

left, right = st.columns(2)
with left:
    st.subheader("Disposition mix")
    share = dispositions.with_columns((pl.col("units_returned") / pl.col("units_returned").sum()).alias("share"))
    st.altair_chart(
        charts.bars(share, "member", "share", "rate", extra_tooltip={"units_returned": "count"}), width="stretch"
    )
    st.caption(f"{labels.DISPOSITIONS['pending']}: not received back yet.")
with right:
    st.subheader("Return rate by category")
    by_category = queries.return_rates_by_category(sel.path, *sel.months, sel.category)
    st.altair_chart(
        charts.bars(
            by_category,
            "category",
            "return_rate_units",
            "rate",
            extra_tooltip={"units_returned": "count", "units_shipped": "count"},
            target=kpis.targets().get("return_rate_units"),
        ),
        width="stretch",
    )

st.subheader("By supplier")
left, right = st.columns(2)
with left:
    st.markdown("**Reasons for returned units**, by the products' primary supplier")
    by_supplier = queries.returns_by_supplier(sel.path, *sel.months, sel.category)
    if by_supplier.is_empty():
        st.info("No returns in the selection.")
    else:
        st.altair_chart(
            charts.stacked_share(by_supplier, "supplier_name", "reason_code", "units_returned"), width="stretch"
        )
with right:
    st.markdown("**Customer defect rate**, last 90 days")
    card = queries.supplier_scorecard(sel.path)
    st.altair_chart(
        charts.bars(card.drop_nulls("customer_defect_rate"), "supplier_name", "customer_defect_rate", "rate"),
        width="stretch",
    )
    st.caption(
        "Units returned as defective / units shipped of the skus the supplier is primary for "
        "(marts.kpi_supplier_scorecard; the month range and the category filter do not apply)."
    )
