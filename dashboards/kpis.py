"""How the dashboards show a number: each KPI's label, unit and good direction, the formats, and the metric tile
(latest value, change against the period before, sparkline over the selected months)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

import streamlit as st

Unit = Literal["rate", "money", "days", "turns", "count", "ppm"]


@dataclass(frozen=True)
class Kpi:
    label: str
    unit: Unit
    higher_is_better: bool | None  # None: neither direction is good in itself (e.g. stock value)
    help: str = ""


# The definitions are docs/kpi-definitions.md's; the help text says in a line what the number counts.
KPIS: dict[str, Kpi] = {
    "otif_rate": Kpi("OTIF", "rate", True, "Due orders delivered complete and by the promised date, / due orders."),
    "unit_fill_rate": Kpi("Fill rate", "rate", True, "Units shipped on due lines, / units ordered on them."),
    "perfect_order_rate": Kpi(
        "Perfect order rate",
        "rate",
        True,
        "Due orders that are OTIF and have no damaged, defective or wrong-item return.",
    ),
    "inventory_value": Kpi(
        "Inventory value", "money", None, "Mean over the month's days of on hand x current unit cost."
    ),
    "inventory_turns": Kpi("Inventory turns", "turns", True, "Annualised cost of goods shipped / inventory value."),
    "stockout_rate": Kpi("Stockout rate", "rate", False, "Sku-warehouse-days with nothing on hand, / all of them."),
    "supplier_on_time_rate": Kpi(
        "Supplier on-time", "rate", True, "Received PO lines received by the promised date, / received PO lines."
    ),
    "return_rate_units": Kpi(
        "Return rate", "rate", False, "Units returned, / units shipped, by the month the order was placed."
    ),
    "forecast_wape": Kpi(
        "Forecast WAPE", "rate", False, "Backtest error of the selected models: sum |actual - forecast| / sum actual."
    ),
    "line_otif_rate": Kpi("Line OTIF", "rate", True, "Due lines on time and in full, / due lines."),
    "line_on_time_rate": Kpi("On time", "rate", True, "Due lines delivered by the promised date, / due lines."),
    "line_in_full_rate": Kpi("In full", "rate", True, "Due lines shipped in full, / due lines."),
    "backorder_rate": Kpi(
        "Backorder rate", "rate", False, "Due lines short-shipped and not shipped by the promised date, / due lines."
    ),
    "order_to_delivery_days": Kpi(
        "Order to delivery", "days", False, "Mean days from order to delivery over the delivered due lines."
    ),
    "return_value_rate": Kpi("Return value rate", "rate", False, "Refunds, / value shipped."),
    "supplier_in_full_rate": Kpi(
        "Supplier in full", "rate", True, "Received PO lines received in full, / received PO lines."
    ),
    "supplier_lead_time_days": Kpi(
        "Supplier lead time", "days", False, "Mean days from PO order date to receipt, received lines."
    ),
    "supplier_defect_ppm": Kpi(
        "Inbound defects", "ppm", False, "Units rejected at inbound quality control per million received."
    ),
    "return_processing_days": Kpi(
        "Return processing", "days", False, "Mean days from return request to receipt, received returns."
    ),
    "forecast_bias": Kpi(
        "Forecast bias", "rate", None, "sum (forecast - actual) / sum actual over the backtest: above 0 over-forecasts."
    ),
    "forecast_value_added": Kpi(
        "Forecast value added",
        "rate",
        True,
        "Seasonal naive's WAPE minus the model's, over the same series: above 0 is better than naive.",
    ),
}


def fmt(value, unit: Unit) -> str:
    """A number as the pages show it (and as the tests read it back)."""
    if value is None:
        return "–"
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "money":
        return f"{value:,.0f}"
    if unit == "days":
        return f"{value:.1f} d"
    if unit == "turns":
        return f"{value:.1f}×"
    if unit == "ppm":
        return f"{value:,.0f} ppm"
    return f"{value:,.0f}"


def fmt_delta(current, previous, unit: Unit) -> str | int | None:
    """The change from `previous` to `current`: percentage points for rates, percent for money, else units.
    A change that rounds to nothing is 0, which Streamlit shows grey and without an arrow."""
    if current is None or previous is None or (unit == "money" and not previous):
        return None
    if unit == "rate":
        change = round((current - previous) * 100, 1)
        text = f"{change:+.1f} pp"
    elif unit == "money":
        change = round((current / previous - 1) * 100, 1)
        text = f"{change:+.1f}%"
    elif unit in ("days", "turns"):
        change = round(current - previous, 1)
        text = f"{change:+.1f}"
    else:
        change = round(current - previous)
        text = f"{change:+,.0f}"
    return 0 if change == 0 else text


def delta_color(kpi: Kpi) -> str:
    return {True: "normal", False: "inverse", None: "off"}[kpi.higher_is_better]


def tile(
    name: str,
    points: list[tuple[object, float]],
    period: str = "month",
    kpi: Kpi | None = None,
    note: str | None = None,
) -> None:
    """A metric: the last of `points` (label, value), its change against the one before, and all of them as a
    sparkline. With no points the tile says there is no data for the selection, rather than showing a zero."""
    kpi = kpi or KPIS[name]
    if not points:
        st.metric(kpi.label, "–", help=f"{kpi.help} No data for the selection.", border=True)
        return
    (last_label, last), previous = points[-1], (points[-2] if len(points) > 1 else (None, None))
    description = f"vs {_label(previous[0], short=True)}" if previous[0] is not None else None
    st.metric(
        kpi.label,
        fmt(last, kpi.unit),
        fmt_delta(last, previous[1], kpi.unit),
        delta_color=delta_color(kpi),
        help=f"{kpi.help} {note or _label(last_label)}.",
        border=True,
        chart_data=[v for _, v in points if v is not None] if len(points) > 1 else None,
        delta_description=description,
    )


def _label(point, short: bool = False) -> str:
    if isinstance(point, datetime):
        return point.strftime("%d %b %Y %H:%M")
    if isinstance(point, date):
        return point.strftime("%b %y" if short else "%b %Y")
    return str(point)


def freshness(meta: dict, now: datetime | None = None) -> str:
    """One line on how fresh the snapshot is: its as-of date and the run that published it."""
    published = meta["published_at"]
    age_h = ((now or datetime.now(UTC).replace(tzinfo=None)) - published).total_seconds() / 3600
    age = f"{age_h:.0f} h ago" if age_h >= 1 else "less than an hour ago"
    as_of = meta["as_of_date"].strftime("%d %b %Y") if meta["as_of_date"] else "unknown"
    return (
        f"Data as of **{as_of}** · last successful run {published:%d %b %Y %H:%M} UTC ({age}), "
        f"run `{meta['run_id'][:8]}`"
    )
