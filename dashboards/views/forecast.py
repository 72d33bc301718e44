"""Forecast: one series' history against its forecast and 80% interval, and how accurate each model has been by
category, with the value it adds over seasonal naive."""

import polars as pl
import streamlit as st

from dashboards import charts, drill, filters, formatting, kpis, labels, queries

SERIES_KEY = "forecast_series"
HISTORY_DAYS = 91

sel = filters.selection()
st.title("Forecast")
filters.not_applied(sel, {"channel": "demand is forecast per sku and warehouse, over all channels."})

accuracy = queries.forecast_accuracy(sel.path, sel.category, sel.warehouse)
overall = accuracy.filter(category="all categories", model="selected")
selected = overall.row(0, named=True) if overall.height else {}
a, b, c, d = st.columns(4)
with a:
    kpis.tile("forecast_wape", [("the latest run of each series", selected.get("wape"))] if selected else [])
    if selected:
        drill.button("series_by_error")
b.metric("Forecast bias", kpis.fmt(selected.get("bias"), "rate"), border=True, help=kpis.KPIS["forecast_bias"].help)
c.metric(
    "Forecast value added",
    kpis.fmt(selected.get("fva"), "rate"),
    border=True,
    help=kpis.KPIS["forecast_value_added"].help,
)
d.metric(
    "Series scored",
    f"{selected.get('series', 0):,}",
    border=True,
    help="Series (sku and warehouse) with scored backtest days; each from the latest run that covered it.",
)
st.caption(
    "Backtest (rolling origin) of each series' selected model: the selection's summed errors over its summed "
    "demand (marts.forecast_accuracy_by_model). The month range does not apply: accuracy is of the latest "
    "forecasting run."
)

series = queries.forecast_series(sel.path, sel.category, sel.warehouse)
drill.show(
    {
        "series_by_error": drill.Drill(
            "Forecast series, the largest error first",
            lambda: series.sort("wape", descending=True, nulls_last=True),
            "Each series' selected model and its backtest WAPE, under the category and warehouse filters.",
            codes={"selected_model": "model"},
        )
    },
    "forecast",
)

st.subheader("History and forecast")
if series.is_empty():
    st.info("No forecast series for this selection.")
else:
    keys = list(zip(series["sku"], series["warehouse_id"], strict=True))
    names = {
        k: f"{r['sku']} · {r['product_name']} · {r['warehouse_name']}"
        for k, r in zip(keys, series.iter_rows(named=True), strict=True)
    }
    if st.session_state.get(SERIES_KEY) not in names:
        st.session_state.pop(SERIES_KEY, None)  # filtered out: start again from the busiest series
    sku, warehouse = st.selectbox("Series (busiest first)", keys, format_func=names.get, key=SERIES_KEY)
    history = queries.demand_history(sel.path, sku, warehouse, HISTORY_DAYS)
    predicted = queries.series_forecast(sel.path, sku, warehouse)
    st.altair_chart(charts.forecast(history, predicted), width="stretch")
    row = series.filter(sku=sku, warehouse_id=warehouse).row(0, named=True)
    run = predicted.row(0, named=True) if predicted.height else None
    st.caption(
        f"Units ordered per day over the last {HISTORY_DAYS} days (days out of stock show what was ordered, not "
        f"demand), then the selected model ({labels.model(row['selected_model'])}, backtest WAPE "
        f"{kpis.fmt(row['wape'], 'rate')}) with its 80% interval"
        + (f", from the run with cut-off {run['cutoff_date']:%d %b %Y}." if run else ".")
    )

st.subheader("Accuracy by model")
models = accuracy.filter(category="all categories")
left, right = st.columns(2)
with left:
    st.markdown("**WAPE** (lower is better)")
    st.altair_chart(
        charts.bars(models, "model", "wape", "rate", extra_tooltip={"bias": "rate", "series": "count"}), width="stretch"
    )
with right:
    st.markdown("**Forecast value added** over seasonal naive (higher is better)")
    st.altair_chart(
        charts.bars(models.filter(pl.col("model") != "seasonal_naive"), "model", "fva", "rate"), width="stretch"
    )
st.caption(
    "`selected`: each series' own pick. A model scores only the series it was fitted for (Prophet only "
    "where demand is regular enough), so compare it on its own series."
)

st.subheader("WAPE by category and model")
by_category = accuracy.filter(pl.col("category") != "all categories")
table = by_category.pivot(on="model", index="category", values="wape", sort_columns=True)
formatting.dataframe(
    table,
    {c: "rate" for c in table.columns[1:]},
    targets=dict.fromkeys(table.columns[1:], kpis.targets().get("forecast_wape")),
)
st.caption("Green: within the forecast WAPE target; red: above it.")
