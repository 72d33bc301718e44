"""Fulfilment: line OTIF, on time, in full, fill rate and order-to-delivery days over time, and by warehouse,
carrier, channel and category. Every filter applies: kpi_fulfilment_monthly has all four dimensions, and its
counts add up over them."""

import streamlit as st

from dashboards import charts, drill, filters, formatting, kpis, queries, queries_drill

sel = filters.selection()
st.title("Fulfilment")
st.caption(
    "Due lines (not cancelled, promised by the as-of date) by the month of their promised date. "
    "Rates are summed counts over the selection divided once, not averages of rates."
)

monthly = queries.fulfilment_monthly(sel.path, *sel.months, sel.category, sel.warehouse, sel.channel)
if monthly.is_empty():
    st.info("No due lines for this selection.")
    st.stop()

# Each tile's KPI -> the drill-down of its due lines (queries_drill.LINE_MISSES).
TILES = {
    "line_otif_rate": "not_otif",
    "line_on_time_rate": "late",
    "line_in_full_rate": "short",
    "unit_fill_rate": "short",
    "backorder_rate": "backorder",
    "order_to_delivery_days": "delivered",
}
for column, (name, miss) in zip(st.columns(len(TILES)), TILES.items(), strict=True):
    with column:
        kpis.tile(name, list(zip(monthly["month"], monthly[name], strict=True)))
        if miss:
            drill.button(miss, key=name)
latest = monthly["month"][-1]
st.caption(
    f"Latest month {filters.month_label(latest)}: {monthly['due_lines'][-1]:,} due lines. "
    "Order-level OTIF (every line of the order on time and in full) is on the Overview, network-wide."
)

_TITLES = {
    "not_otif": "Due lines not on time and in full",
    "late": "Due lines not delivered by the promised date",
    "short": "Due lines not shipped in full",
    "backorder": "Backordered due lines",
    "delivered": "Delivered due lines",
}


def _lines(miss: str):
    return lambda: queries_drill.order_lines(sel.path, miss, latest, latest, sel.category, sel.warehouse, sel.channel)


drill.show(
    {
        miss: drill.Drill(
            f"{title}, {filters.month_label(latest)}",
            _lines(miss),
            "Promised in the tiles' month, under the filters: the due lines the tile's rate counts as missed "
            "(for order to delivery, the delivered lines its mean is over).",
            codes={"channel": "channel"},
        )
        for miss, title in _TITLES.items()
    },
    "fulfilment",
)

left, right = st.columns(2)
with left:
    st.subheader("OTIF, on time, in full")
    st.altair_chart(
        charts.trend(
            monthly,
            "month",
            {
                "line_otif_rate": "OTIF",
                "line_on_time_rate": "on time",
                "line_in_full_rate": "in full",
                "unit_fill_rate": "fill rate",
            },
            "rate",
            targets=kpis.targets(),
        ),
        width="stretch",
    )
    st.caption("Dashed: the target.")
with right:
    st.subheader("Order to delivery, days")
    st.altair_chart(
        charts.trend(monthly, "month", {"order_to_delivery_days": "days"}, "days", zero=True), width="stretch"
    )

st.subheader(f"By dimension, {filters.month_label(sel.first_month)} – {filters.month_label(sel.last_month)}")
breakdown = queries.fulfilment_breakdown(sel.path, *sel.months, sel.category, sel.warehouse, sel.channel)
for row in ((("warehouse", "Warehouse"), ("carrier", "Carrier")), (("channel", "Channel"), ("category", "Category"))):
    for column, (dimension, label) in zip(st.columns(2), row, strict=True):
        part = breakdown.filter(dimension=dimension)
        with column:
            st.markdown(f"**{label}**: line OTIF")
            st.altair_chart(
                charts.bars(
                    part,
                    "member",
                    "line_otif_rate",
                    "rate",
                    extra_tooltip={
                        "due_lines": "count",
                        "line_on_time_rate": "rate",
                        "line_in_full_rate": "rate",
                        "unit_fill_rate": "rate",
                    },
                    target=kpis.targets().get("line_otif_rate"),
                ),
                width="stretch",
            )

with st.expander("The numbers behind the charts"):
    formatting.dataframe(
        breakdown.select(
            "dimension",
            "member",
            "due_lines",
            "line_otif_rate",
            "line_on_time_rate",
            "line_in_full_rate",
            "unit_fill_rate",
            "backorder_rate",
            "order_to_delivery_days",
        ),
        codes={"member": "channel"},
        targets={c: kpis.targets().get(c) for c in ("line_otif_rate", "unit_fill_rate", "backorder_rate")},
    )
