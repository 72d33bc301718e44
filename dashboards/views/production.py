"""Production: schedule adherence, attainment, first-pass yield, cycle time and component-defect scrap month by
month (kpi_production_monthly summed under the filters), scrap by reason, capacity utilisation per work center and
week (kpi_work_center_weekly), the late and at-risk work orders on the as-of date (fct_work_orders) and the component
shortages that hold work orders up (work_order_shortages). The tiles and each scrap reason open the work orders
behind them. A business that sends no work orders sees a line saying so."""

import streamlit as st

from dashboards import charts, drill, filters, formatting, heatmap, kpis, labels, queries, queries_production

sel = filters.selection()
as_of = queries.snapshot_meta(sel.path)["as_of_date"]
st.title("Production")
if not queries_production.has_work_orders(sel.path):
    st.info("No production data: this business sends no work orders.", icon=":material/precision_manufacturing:")
    st.stop()
filters.not_applied(sel, {"channel": "work orders make stock, not sales: they have no channel."})
span = f"{filters.month_label(sel.first_month)} – {filters.month_label(sel.last_month, as_of)}"
CODES = {"status": "work_order_status", "scrap_reason": "scrap"}

monthly = queries_production.production_monthly(sel.path, *sel.months, sel.category, sel.warehouse)


def points(column: str) -> list[tuple]:
    # A month without the KPI's denominator (no due or no completed work order) is no point, not a zero.
    return [(m, v) for m, v in zip(monthly["month"], monthly[column], strict=True) if not formatting.is_empty(v)]


def latest(column: str):
    shown = points(column)
    return shown[-1][0] if shown else None


# Each tile's KPI -> the work orders it is taken over: due ones by the planned finish month, completed ones by the
# actual finish month (queries_production.MONTH_KINDS).
TILES = {
    "schedule_adherence_rate": "due",
    "production_attainment_rate": "due",
    "first_pass_yield": "completed",
    "manufacturing_cycle_time_days": "completed",
    "component_defect_scrap_share": "completed",
}
for column, (name, kind) in zip(st.columns(len(TILES)), TILES.items(), strict=True):
    with column:
        kpis.tile(name, points(name))
        if latest(name) is not None:
            drill.button(f"{kind}_work_orders", key=name)
st.caption(
    "Tiles: the latest month of the range that has the KPI, against the month before. Schedule adherence and "
    "attainment are over due work orders (not cancelled, planned to finish by the as-of date) by the month of "
    "their planned finish; yield, cycle time and scrap over completed work orders by the month they finished. "
    "Rates are summed counts and units over the selection divided once."
)

due_month, completed_month = latest("schedule_adherence_rate"), latest("first_pass_yield")
DRILLS = {}
if due_month is not None:
    DRILLS["due_work_orders"] = drill.Drill(
        f"Due work orders, {filters.month_label(due_month, as_of)}",
        lambda: queries_production.month_work_orders(
            sel.path, "due", due_month, due_month, sel.category, sel.warehouse
        ),
        "Planned to finish in the month, under the filters, those not on schedule first: as many as schedule "
        "adherence's due work orders, their units produced and planned attainment's numerator and denominator.",
        codes=CODES,
    )
if completed_month is not None:
    DRILLS["completed_work_orders"] = drill.Drill(
        f"Completed work orders, {filters.month_label(completed_month, as_of)}",
        lambda: queries_production.month_work_orders(
            sel.path, "completed", completed_month, completed_month, sel.category, sel.warehouse
        ),
        "Finished in the month, under the filters: their units produced and scrapped are first-pass yield's good "
        "and started units, their cycle times the mean cycle time's.",
        codes=CODES,
    )
drill.show(DRILLS, "production")

targets = kpis.targets()
left, right = st.columns(2)
with left:
    st.subheader("Schedule adherence and attainment")
    st.altair_chart(
        charts.trend(
            monthly,
            "month",
            {"schedule_adherence_rate": "schedule adherence", "production_attainment_rate": "attainment"},
            "rate",
            targets=targets,
        ),
        width="stretch",
    )
    st.caption("By the month of the planned finish. Dashed: the target.")
with right:
    st.subheader("First-pass yield")
    st.altair_chart(
        charts.trend(monthly, "month", {"first_pass_yield": "first-pass yield"}, "rate", targets=targets),
        width="stretch",
    )
    st.caption("By the month finished. Dashed: the target.")

# --- yield and scrap --------------------------------------------------------------------------------------------

st.subheader(f"Yield and scrap, {span}")
scrap = queries_production.scrap_by_reason(sel.path, *sel.months, sel.category, sel.warehouse)
centers = queries_production.production_by_work_center(sel.path, *sel.months, sel.category, sel.warehouse)
left, right = st.columns(2)
with left:
    st.markdown("**Units scrapped** per reason")
    if scrap.is_empty():
        st.success("No units scrapped in the selection.")
    else:
        st.altair_chart(
            charts.bars(scrap, "scrap_reason", "units_scrapped", "units", extra_tooltip={"scrap_share": "rate"}),
            width="stretch",
        )
        with st.container(horizontal=True):
            for reason in scrap["scrap_reason"]:
                drill.button(f"scrap_{reason}", label=f"{labels.code('scrap', reason)} work orders")
with right:
    st.markdown("**First-pass yield** per work center")
    st.altair_chart(
        charts.bars(
            centers.filter(~centers["first_pass_yield"].is_null()),
            "work_center_name",
            "first_pass_yield",
            "rate",
            extra_tooltip={"units_produced": "units", "units_scrapped": "units", "schedule_adherence_rate": "rate"},
            target=targets.get("first_pass_yield"),
        ),
        width="stretch",
    )
drill.show(
    {
        f"scrap_{reason}": drill.Drill(
            f"Work orders scrapping units: {labels.code('scrap', reason).lower()}, {span}",
            lambda reason=reason: queries_production.month_work_orders(
                sel.path, "completed", *sel.months, sel.category, sel.warehouse, scrap_reason=reason
            ),
            "Completed in the month range, under the filters: their units scrapped add up to the reason's bar.",
            codes=CODES,
        )
        for reason in queries_production.SCRAP_REASONS
    },
    "production",
)
with st.expander("Work centers over the range"):
    formatting.dataframe(
        centers.select(
            "work_center_name",
            "due_work_orders",
            "schedule_adherence_rate",
            "production_attainment_rate",
            "completed_work_orders",
            "units_produced",
            "units_scrapped",
            "first_pass_yield",
            "manufacturing_cycle_time_days",
            "labor_hours",
        ),
        column_units={"units_produced": "units", "units_scrapped": "units", "labor_hours": "count"},
        targets={c: targets.get(c) for c in ("schedule_adherence_rate", "first_pass_yield")},
    )

# --- capacity ---------------------------------------------------------------------------------------------------

st.subheader("Capacity utilisation per work center, by week")
filters.not_applied(sel, {"category": "a work center's hours are for every sku it makes."})
weekly = queries_production.work_center_weekly(sel.path, *sel.months, sel.warehouse)
if weekly.is_empty():
    st.info("No work center capacity for this selection.")
else:
    st.altair_chart(
        heatmap.weekly(
            weekly,
            "week_start",
            "work_center_name",
            "capacity_utilisation_rate",
            "rate",
            extra_tooltip={"labor_hours": "count", "capacity_hours": "count", "completed_work_orders": "count"},
        ),
        width="stretch",
    )
    st.caption(
        "Labor hours of the work orders completed in the week (Monday to Sunday), / the center's capacity hours "
        "per day x 7; above 100 % the center was overloaded."
    )

# --- open work orders -------------------------------------------------------------------------------------------

as_of_text = f" on {as_of:%d %b %Y}" if as_of else ""
st.subheader(f"Late and at-risk work orders{as_of_text}")
days = st.number_input(
    "At risk: planned to finish within (days)",
    min_value=1,
    max_value=90,
    value=7,
    step=1,
    key="production_risk_days",
    help="Work orders not started yet whose planned finish is this many days after the as-of date or fewer.",
)
late = queries_production.open_work_orders(sel.path, "late", sel.category, sel.warehouse)
at_risk = queries_production.open_work_orders(sel.path, "at_risk", sel.category, sel.warehouse, int(days))
a, b = st.columns(2)
a.metric(
    "Late work orders",
    kpis.fmt(late.height, "count"),
    border=True,
    help="Due (not cancelled, planned to finish by the as-of date) and not completed.",
)
b.metric(
    "At-risk work orders",
    kpis.fmt(at_risk.height, "count"),
    border=True,
    help=f"Not started (planned or released) and planned to finish within {int(days)} days after the as-of date.",
)
left, right = st.columns(2)
with left:
    st.markdown("**Late**: due and not completed")
    if late.is_empty():
        st.success("No late work orders.")
    else:
        formatting.dataframe(late, codes=CODES)
with right:
    st.markdown(f"**At risk**: not started, due within {int(days)} days")
    if at_risk.is_empty():
        st.success("No work orders at risk.")
    else:
        formatting.dataframe(at_risk, codes=CODES)

# --- component shortages ----------------------------------------------------------------------------------------

st.subheader("Component shortages holding up work orders")
short = queries_production.shortages(sel.path, sel.category, sel.warehouse)
a, b = st.columns(2)
a.metric(
    "Work orders held up",
    kpis.fmt(short["work_order_id"].n_unique(), "count"),
    border=True,
    help="Work orders not started whose components' available stock does not cover what they need.",
)
b.metric(
    "Components short",
    kpis.fmt(short["component_sku"].n_unique(), "count"),
    border=True,
    help="Components some work order not started is short of.",
)
st.caption(
    "Each work order not started needs quantity planned x quantity per (grossed up by the scrap allowance) of each "
    "direct component, at its work center's site. Work orders draw on the component's available stock on the "
    "as-of date in the order they are planned to start; a row is the part of a need the stock left does not "
    "cover. Open purchase orders are not counted until they are received."
)
if short.is_empty():
    st.success("No work order is short of a component.")
else:
    formatting.dataframe(short, codes=CODES)
