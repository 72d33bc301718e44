"""Customers & Finance: revenue, gross margin and the cash-to-cash cycle (days of inventory, of sales outstanding and
of payables) month by month; the active, new and repeat customers; and the customers' RFM segments on the as-of
date with each segment's share of the revenue. Every number is a mart's: kpi_monthly, kpi_customers_monthly and
dim_customer. The revenue and active-customer tiles and each segment open the order lines or customers behind them."""

import polars as pl
import streamlit as st

from dashboards import charts, drill, filters, formatting, kpis, labels, queries, queries_customers

sel = filters.selection()
as_of = queries.snapshot_meta(sel.path)["as_of_date"]
span = f"{filters.month_label(sel.first_month)} – {filters.month_label(sel.last_month, as_of)}"
st.title("Customers & Finance")
filters.not_applied(
    sel,
    {
        name: "revenue, margin, the cash cycle and the customers are taken over the whole network; the "
        "Fulfilment, Inventory and Returns pages apply it."
        for name in ("category", "warehouse")
    },
)


def points(frame: pl.DataFrame, column: str) -> list[tuple]:
    # A month without the KPI (e.g. no cash-to-cash before both DIO and DPO exist) is no point, not a zero.
    return [(m, v) for m, v in zip(frame["month"], frame[column], strict=True) if not formatting.is_empty(v)]


def tiles(frame: pl.DataFrame, names: tuple[str, ...], drills: dict[str, str] | None = None) -> None:
    """A tile per KPI of `names`; under those in `drills` (KPI -> drill-down) the button to its rows."""
    for column, name in zip(st.columns(len(names)), names, strict=True):
        with column:
            kpis.tile(name, points(frame, name))
            if name in (drills or {}):
                drill.button(drills[name], key=name)


def latest(frame: pl.DataFrame, column: str):
    """The month a tile of `column` shows: the latest of the range that has the KPI (None when none has)."""
    shown = points(frame, column)
    return shown[-1][0] if shown else None


def by_month(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` for a table: the month as the slider names it (to date while it is not over)."""
    return frame.with_columns(
        pl.Series("month", [filters.month_label(m, as_of) for m in frame["month"]], dtype=pl.String)
    )


# --- Finance ---------------------------------------------------------------------------------------------------

st.subheader("Finance")
filters.not_applied(
    sel, {"channel": "costs and payables have no channel: the finance KPIs are network-wide; Customers applies it."}
)
finance = queries_customers.finance_monthly(sel.path, *sel.months)
tiles(finance, ("revenue", "gross_margin", "gross_margin_rate", "cash_to_cash_days"), {"revenue": "revenue_lines"})
tiles(finance, ("days_inventory_outstanding", "dso_days", "dpo_days"))
revenue_month = latest(finance, "revenue")
if revenue_month is not None:
    drill.show(
        {
            "revenue_lines": drill.Drill(
                f"Order lines ordered in {filters.month_label(revenue_month, as_of)}",
                lambda: queries_customers.ordered_lines(sel.path, revenue_month, revenue_month, None),
                "Non-cancelled lines by the month ordered, every channel: their order values add up to the revenue "
                "tile.",
                codes={"channel": "channel"},
            )
        },
        "customers",
    )

totals = queries_customers.finance_range(sel.path, *sel.months)
a, b, c = st.columns(3)
a.metric(
    "Revenue over the range",
    kpis.fmt(totals["revenue"], "money"),
    border=True,
    help=f"{kpis.KPIS['revenue'].help} Summed over {span}.",
)
b.metric(
    "Gross margin over the range",
    kpis.fmt(totals["gross_margin"], "money"),
    border=True,
    help=f"{kpis.KPIS['gross_margin'].help} Summed over {span}.",
)
c.metric(
    "Gross margin rate over the range",
    kpis.fmt(totals["gross_margin_rate"], "rate"),
    border=True,
    help=f"The gross margin of {span}, / the shipped revenue of the same months.",
)
st.caption(
    "Tiles: the latest month of the range that has the KPI, against the month before. Revenue is by the month "
    "ordered; gross margin by the month shipped, at the product's current unit cost, so its rate is over the "
    "revenue shipped, not the revenue ordered. Cash-to-cash = days inventory + days sales outstanding − days "
    "payable; days sales outstanding is a setting of the pipeline, not measured."
)

left, right = st.columns(2)
with left:
    st.subheader("Revenue and gross margin")
    st.altair_chart(
        charts.trend(finance, "month", {"revenue": "revenue", "gross_margin": "gross margin"}, "money", zero=True),
        width="stretch",
    )
with right:
    st.subheader("Cash-to-cash cycle, days")
    st.altair_chart(
        charts.trend(
            finance,
            "month",
            {
                "cash_to_cash_days": "cash-to-cash",
                "days_inventory_outstanding": "DIO",
                "dso_days": "DSO",
                "dpo_days": "DPO",
            },
            "days",
            zero=True,
        ),
        width="stretch",
    )

with st.expander("Finance by month"):
    formatting.dataframe(
        by_month(finance),
        column_units={"gross_margin": "money", "days_inventory_outstanding": "days"},
    )

# --- Customers -------------------------------------------------------------------------------------------------

channel = labels.code("channel", sel.channel) if sel.channel else None
st.subheader(f"Customers, {channel}" if channel else "Customers")
customers = queries_customers.customers_monthly(sel.path, *sel.months, sel.channel)
tiles(
    customers,
    ("active_customers", "new_customers", "repeat_customers", "repeat_customer_rate"),
    {"active_customers": "active_customers"},
)
a, b, c = st.columns(3)
with a:
    kpis.tile("average_order_value", points(customers, "average_order_value"))
b.metric(
    "New customers over the range",
    kpis.fmt(customers["new_customers"].sum(), "count"),
    border=True,
    help=f"Customers whose first order is in {span} (each is new in one month only)"
    + (f", buying through {channel} in that month." if channel else "."),
)
c.metric(
    "Orders over the range",
    kpis.fmt(customers["orders"].sum(), "count"),
    border=True,
    help=f"Orders with a non-cancelled line, by the month ordered, {span}.",
)
st.caption(
    "Active customers have a non-cancelled order line in the month; new ones placed their first order in it (in "
    "any channel), repeat ones an earlier month. Customers are counted per month and never summed over months: "
    "the same customer is active in many."
)
customers_month = latest(customers, "active_customers")
if customers_month is not None:
    drill.show(
        {
            "active_customers": drill.Drill(
                f"Active customers, {filters.month_label(customers_month, as_of)}"
                + (f", {channel}" if channel else ""),
                lambda: queries_customers.active_customers(sel.path, customers_month, customers_month, sel.channel),
                "One row per customer with a non-cancelled line ordered in the month"
                + (f" through {channel}" if channel else "")
                + ": as many as the active customers tile counts; their first order date tells the new ones.",
                codes={"rfm_segment": "segment"},
            )
        },
        "customers",
    )

left, right = st.columns(2)
with left:
    st.subheader("New and repeat customers")
    st.altair_chart(
        charts.trend(customers, "month", {"new_customers": "new", "repeat_customers": "repeat"}, "count", zero=True),
        width="stretch",
    )
with right:
    st.subheader("Repeat customer rate")
    st.altair_chart(
        charts.trend(customers, "month", {"repeat_customer_rate": "repeat customers"}, "rate", zero=True),
        width="stretch",
    )

with st.expander("Customers by month"):
    formatting.dataframe(by_month(customers))

# --- RFM segments ----------------------------------------------------------------------------------------------

st.subheader(f"Customer segments on {as_of:%d %b %Y}" if as_of else "Customer segments")
filters.not_applied(
    sel, {"channel": "a customer's segment is taken over their orders in every channel up to the as-of date."}
)
segments = queries_customers.rfm_segments(sel.path)
st.caption(
    "Each customer's recency (days since the last order), frequency (orders) and monetary value (revenue), over "
    "every order up to the as-of date whatever the month range, scored 1 to 5 by quintile (5 best). Champions "
    "score 4 or more on all three; loyal customers 3 or more on recency and frequency; new ones are recent with "
    "few orders; at risk are not recent but ordered often; lost are neither recent nor frequent; promising are "
    "the rest."
)
a, b, c = st.columns(3)
a.metric("Customers", kpis.fmt(segments["customers"].sum(), "count"), border=True, help="Customers seen in orders.")
for column, segment in ((b, "champions"), (c, "at_risk")):
    row = segments.filter(rfm_segment=segment)
    share = row["revenue_share"][0] if row.height else None
    column.metric(
        f"{labels.code('segment', segment)}: revenue share",
        kpis.fmt(share, "rate"),
        border=True,
        help=f"The revenue of the {labels.code('segment', segment).lower()} customers, / all customers' revenue, "
        "up to the as-of date.",
    )

left, right = st.columns(2)
with left:
    st.markdown("**Customers** per segment")
    st.altair_chart(
        charts.bars(
            segments, "rfm_segment", "customers", "count", extra_tooltip={"customer_share": "rate"}, sort_by_value=False
        ),
        width="stretch",
    )
with right:
    st.markdown("**Share of revenue** per segment")
    st.altair_chart(
        charts.bars(
            segments,
            "rfm_segment",
            "revenue_share",
            "rate",
            extra_tooltip={"revenue": "money", "customers": "count"},
            sort_by_value=False,
        ),
        width="stretch",
    )

formatting.dataframe(
    segments.select(
        "rfm_segment",
        "customers",
        "customer_share",
        "revenue",
        "revenue_share",
        "orders_per_customer",
        "recency_days",
    ),
    column_units={"orders_per_customer": "count"},
    codes={"rfm_segment": "segment"},
)
with st.container(horizontal=True):
    for segment in segments["rfm_segment"]:
        drill.button(f"segment_{segment}", label=f"{labels.code('segment', segment)} customers")
drill.show(
    {
        f"segment_{segment}": drill.Drill(
            f"{labels.code('segment', segment)} customers on {as_of:%d %b %Y}",
            lambda segment=segment: queries_customers.segment_customers(sel.path, segment),
            "Their recency, frequency and monetary scores and the figures they are scored on, the most revenue first.",
        )
        for segment in segments["rfm_segment"]
    },
    "customers",
)
