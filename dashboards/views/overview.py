"""Overview: the headline KPIs of the latest month in the selected range, each against the month before with a
sparkline over the range, and what needs a look today."""

import streamlit as st

from dashboards import drill, filters, kpis, queries, queries_drill, queries_replenishment

sel = filters.selection()
st.title("Overview")
meta = queries.snapshot_meta(sel.path)
st.markdown(kpis.freshness(meta))

# kpi_monthly is network-wide: one row per KPI and month, no category, warehouse or channel.
filters.not_applied(
    sel,
    {
        **{
            name: "the headline KPIs are network-wide (marts.kpi_monthly); Needs a look below applies it, and so do "
            "the Fulfilment, Inventory, Returns, Forecast and Replenishment pages."
            for name in ("category", "warehouse")
        },
        "channel": "the headline KPIs and Needs a look are network-wide; the Fulfilment page applies it.",
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

# Each headline tile -> its drill-down (the rows its latest month counts as missed), where it has rows to show.
TILE_DRILLS = {
    "otif_rate": "orders_not_otif",
    "unit_fill_rate": "lines_short",
    "perfect_order_rate": "orders_not_perfect",
    "stockout_rate": "stockout_positions",
    "supplier_on_time_rate": "po_lines_late",
    "return_rate_units": "returns",
    "forecast_wape": "forecast_series",
}

tiles = [*queries.HEADLINE_KPIS, "forecast_wape"]
for start in range(0, len(tiles), 3):
    for column, name in zip(st.columns(3), tiles[start : start + 3], strict=False):
        with column:
            if name == "forecast_wape":
                kpis.tile(name, wape_points, note=f"{wape['series']} series, latest run per series")
            else:
                kpis.tile(name, points[name])
            if name in TILE_DRILLS and (name == "forecast_wape" or points[name]):
                drill.button(TILE_DRILLS[name])

as_of = meta["as_of_date"]
st.caption(
    f"Each tile: the latest month of {filters.month_label(sel.first_month)} – {filters.month_label(sel.last_month)} "
    f"that has the KPI, against the month before, and the months of the range as a sparkline; green when it meets "
    f"its target, red when it misses it. The range ends with the month of the as-of date ({as_of:%d %b %Y}), month "
    "to date (MTD) unless moved. Forecast WAPE: the latest run of each series, against the full run before."
)

st.subheader("Needs a look")
exceptions = queries_replenishment.replenishment_exceptions(sel.path, sel.category, sel.warehouse)
by_type = dict(exceptions.group_by("exception_type").len().rows())
late_pos = queries_drill.late_open_po_lines(sel.path, sel.category, sel.warehouse)
LOOKS = {
    "stockout_within_lead_time": "Sku-warehouses whose projected stockout comes before a new order could arrive.",
    "excess_stock": "Sku-warehouses with more days of supply than the excess threshold, or stock and no demand.",
    "forecast_error_jump": "Series whose latest backtest error is far above their usual.",
}
LOOK_LABELS = {
    "stockout_within_lead_time": "Stockouts within lead time",
    "excess_stock": "Excess stock positions",
    "forecast_error_jump": "Forecast error jumps",
}
columns = st.columns(4)
for column, (kind, why) in zip(columns, LOOKS.items(), strict=False):
    with column:
        st.metric(LOOK_LABELS[kind], f"{by_type.get(kind, 0):,}", border=True, help=why)
        if by_type.get(kind):
            drill.button(kind)
with columns[-1]:
    st.metric(
        "Late open PO lines",
        f"{late_pos.height:,}",
        border=True,
        help="Open PO lines past their promised date on the as-of date.",
    )
    if late_pos.height:
        drill.button("late_po_lines")
st.caption("Under the category and warehouse filters, on the as-of date.")


def _month(name: str):
    """The month a tile shows: its KPI's latest in the range."""
    return points[name][-1][0] if points.get(name) else sel.last_month


def _in(name: str) -> str:
    return filters.month_label(_month(name), as_of)


NETWORK = "Network-wide, as the tile."
drills = {
    "orders_not_otif": drill.Drill(
        f"Due orders not on time and in full, {_in('otif_rate')}",
        lambda: queries_drill.orders(sel.path, "not_otif", _month("otif_rate"), _month("otif_rate")),
        f"Orders promised in the month with a line late or short. {NETWORK}",
        codes={"channel": "channel"},
    ),
    "orders_not_perfect": drill.Drill(
        f"Due orders not perfect, {_in('perfect_order_rate')}",
        lambda: queries_drill.orders(
            sel.path, "not_perfect", _month("perfect_order_rate"), _month("perfect_order_rate")
        ),
        f"Orders promised in the month not OTIF or with a damaged, defective or wrong-item return. {NETWORK}",
        codes={"channel": "channel"},
    ),
    "lines_short": drill.Drill(
        f"Due lines not shipped in full, {_in('unit_fill_rate')}",
        lambda: queries_drill.order_lines(
            sel.path, "short", _month("unit_fill_rate"), _month("unit_fill_rate"), None, None, None
        ),
        f"Lines promised in the month that shipped fewer units than ordered. {NETWORK}",
        codes={"channel": "channel"},
    ),
    "stockout_positions": drill.Drill(
        f"Sku-warehouses out of stock, {_in('stockout_rate')}",
        lambda: queries_drill.stockout_positions(
            sel.path, _month("stockout_rate"), _month("stockout_rate"), None, None
        ),
        f"Their stockout days add up to the rate's days out of stock. {NETWORK}",
    ),
    "po_lines_late": drill.Drill(
        f"PO lines received late, {_in('supplier_on_time_rate')}",
        lambda: queries_drill.received_po_lines(
            sel.path, "late", _month("supplier_on_time_rate"), _month("supplier_on_time_rate")
        ),
        f"Received in the month after their promised date. {NETWORK}",
    ),
    "returns": drill.Drill(
        f"Returns of the lines ordered in {_in('return_rate_units')}",
        lambda: queries_drill.returns_of_orders(
            sel.path, _month("return_rate_units"), _month("return_rate_units"), None
        ),
        f"The return rate counts returns by the month the returned line was ordered. {NETWORK}",
        codes={"reason_code": "reason", "disposition": "disposition"},
    ),
    "forecast_series": drill.Drill(
        "Forecast series, the largest error first",
        lambda: queries.forecast_series(sel.path, None, None).sort("wape", descending=True, nulls_last=True),
        f"Each series' selected model and its backtest WAPE. {NETWORK}",
        codes={"selected_model": "model"},
    ),
    **{
        kind: drill.Drill(
            LOOK_LABELS[kind],
            lambda kind=kind: exceptions.filter(exception_type=kind).drop("exception_type"),
            f"{LOOKS[kind]} Under the category and warehouse filters.",
        )
        for kind in LOOKS
    },
    "late_po_lines": drill.Drill(
        "Late open PO lines",
        lambda: late_pos,
        "Open on the as-of date and past their promised date, under the category and warehouse filters.",
    ),
}
drill.show(drills, "overview")

st.page_link(
    "views/replenishment.py", label="Replenishment: orders to place and exceptions", icon=":material/arrow_forward:"
)
st.page_link("views/suppliers.py", label="Suppliers: scorecard and open POs", icon=":material/arrow_forward:")
