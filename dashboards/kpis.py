"""How the dashboards show a KPI: its unit and good direction (its name is labels.py's, the formats
formatting.py's), and the metric tile (latest value, change against the period before, sparkline over the selected
months)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import streamlit as st

from dashboards import formatting, labels
from dashboards.formatting import EMPTY, Unit
from pipelines.alerts.targets import Target, TargetsError, load_targets


@dataclass(frozen=True)
class Kpi:
    label: str
    unit: Unit
    higher_is_better: bool | None  # None: neither direction is good in itself (e.g. stock value)
    help: str = ""


def _kpi(name: str, unit: Unit, higher_is_better: bool | None, help: str = "") -> tuple[str, Kpi]:
    return name, Kpi(labels.kpi(name), unit, higher_is_better, help)


# The definitions are docs/kpi-definitions.md's; the help text says in a line what the number counts.
KPIS: dict[str, Kpi] = dict(
    [
        _kpi("otif_rate", "rate", True, "Due orders delivered complete and by the promised date, / due orders."),
        _kpi("unit_fill_rate", "rate", True, "Units shipped on due lines, / units ordered on them."),
        _kpi(
            "perfect_order_rate",
            "rate",
            True,
            "Due orders that are OTIF and have no damaged, defective or wrong-item return.",
        ),
        _kpi("inventory_value", "money", None, "Mean over the month's days of on hand x current unit cost."),
        _kpi("inventory_turns", "turns", True, "Annualised cost of goods shipped / inventory value."),
        _kpi("stockout_rate", "rate", False, "Sku-warehouse-days with nothing on hand, / all of them."),
        _kpi(
            "supplier_on_time_rate",
            "rate",
            True,
            "Received PO lines received by the promised date, / received PO lines.",
        ),
        _kpi("return_rate_units", "rate", False, "Units returned, / units shipped, by the month the order was placed."),
        _kpi(
            "forecast_wape",
            "rate",
            False,
            "Backtest error of the selected models: sum |actual - forecast| / sum actual.",
        ),
        _kpi("line_otif_rate", "rate", True, "Due lines on time and in full, / due lines."),
        _kpi("line_on_time_rate", "rate", True, "Due lines delivered by the promised date, / due lines."),
        _kpi("line_in_full_rate", "rate", True, "Due lines shipped in full, / due lines."),
        _kpi(
            "backorder_rate",
            "rate",
            False,
            "Due lines short-shipped and not shipped by the promised date, / due lines.",
        ),
        _kpi("order_to_delivery_days", "days", False, "Mean days from order to delivery over the delivered due lines."),
        _kpi("return_value_rate", "rate", False, "Refunds, / value shipped."),
        _kpi("supplier_in_full_rate", "rate", True, "Received PO lines received in full, / received PO lines."),
        _kpi("supplier_lead_time_days", "days", False, "Mean days from PO order date to receipt, received lines."),
        _kpi("supplier_defect_ppm", "ppm", False, "Units rejected at inbound quality control per million received."),
        _kpi("return_processing_days", "days", False, "Mean days from return request to receipt, received returns."),
        _kpi(
            "forecast_bias",
            "rate",
            None,
            "sum (forecast - actual) / sum actual over the backtest: above 0 over-forecasts.",
        ),
        _kpi(
            "forecast_value_added",
            "rate",
            True,
            "Seasonal naive's WAPE minus the model's, over the same series: above 0 is better than naive.",
        ),
        _kpi("revenue", "money", True, "Units ordered x unit price on non-cancelled lines, by order month."),
        _kpi(
            "gross_margin",
            "money",
            True,
            "(Unit price - current unit cost) x units shipped, by the month shipped.",
        ),
        _kpi("gross_margin_rate", "rate", True, "Gross margin, / unit price x units shipped, by the month shipped."),
        _kpi("cash_to_cash_days", "days", False, "Days inventory + days sales outstanding - days payable."),
        _kpi("days_inventory_outstanding", "days", False, "365 / inventory turns of the month."),
        _kpi(
            "dpo_days",
            "days",
            True,
            "Suppliers' payment terms, weighted by what the month's received PO lines cost.",
        ),
        _kpi("dso_days", "days", False, "Days from sale to customer payment: a setting (0 when customers prepay)."),
        _kpi("active_customers", "count", True, "Distinct customers with a non-cancelled line in the month."),
        _kpi("new_customers", "count", True, "Active customers whose first order is in the month."),
        _kpi("repeat_customers", "count", True, "Active customers whose first order is in an earlier month."),
        _kpi("repeat_customer_rate", "rate", True, "Repeat customers, / active customers."),
        _kpi("average_order_value", "money", True, "Revenue, / orders with a non-cancelled line in the month."),
        _kpi(
            "schedule_adherence_rate",
            "rate",
            True,
            "Due work orders completed by their planned finish day, / due work orders, by the planned finish month.",
        ),
        _kpi(
            "production_attainment_rate",
            "rate",
            True,
            "Good units produced by due work orders, / units they planned, by the planned finish month.",
        ),
        _kpi(
            "first_pass_yield",
            "rate",
            True,
            "Good units, / good and scrapped units, of the work orders completed in the month.",
        ),
        _kpi(
            "manufacturing_cycle_time_days",
            "days",
            False,
            "Mean days from actual start to actual finish of the work orders completed in the month.",
        ),
        _kpi(
            "capacity_utilisation_rate",
            "rate",
            None,
            "Labor hours of completed work orders, / the work centers' capacity hours.",
        ),
        _kpi(
            "component_defect_scrap_share",
            "rate",
            False,
            "Units scrapped for a defective component, / units scrapped, in the month.",
        ),
    ]
)


def fmt(value, unit: Unit) -> str:
    """A number as the pages show it (and as the tests read it back): formatting.value."""
    return formatting.value(value, unit)


def fmt_delta(current, previous, unit: Unit) -> str | int | None:
    """The change from `previous` to `current`: percentage points for rates, percent for money, else units.
    A change that rounds to nothing is 0, which Streamlit shows grey and without an arrow."""
    if formatting.is_empty(current) or formatting.is_empty(previous) or (unit == "money" and not previous):
        return None
    if unit == "rate":
        change = round((current - previous) * 100, 1)
        text = f"{change:+.1f} pp"
    elif unit == "money":
        change = round((current / previous - 1) * 100, 1)
        text = f"{change:+.1f}%"
    elif unit == "days":
        change = round(current - previous, 1)
        text = f"{change:+.1f} days"
    elif unit == "turns":
        change = round(current - previous, 1)
        text = f"{change:+.1f}"
    else:
        change = round(current - previous)
        text = f"{change:+,.0f}"
    return 0 if change == 0 else text


def delta_color(kpi: Kpi) -> str:
    return {True: "normal", False: "inverse", None: "off"}[kpi.higher_is_better]


# --- targets -------------------------------------------------------------------------------------------------
# The targets are the alerts' (pipelines/alerts/targets.py: its defaults, overridden by the data directory's
# file), so a KPI the digest calls off target is the one a page colours missed.


# A path no data directory has: load_targets reads the defaults alone.
DEFAULT_TARGETS_ONLY = Path("/nonexistent/targets.toml")


def targets() -> dict[str, Target]:
    """The KPI targets in force; a broken override file says what is wrong once per rerun and the defaults hold."""
    try:
        return load_targets()
    except TargetsError as exc:
        st.warning(f"KPI targets: {exc}. The default targets apply.", icon=":material/flag:")
        return load_targets(override=DEFAULT_TARGETS_ONLY)


on_target = formatting.on_target


def target_text(target: Target, unit: Unit) -> str:
    """The target as a reader says it: "at least 95.0%", "at most 2.0%", or "95.0% – 98.0%" with both bounds."""
    if target.min is not None and target.max is not None:
        return f"{fmt(target.min, unit)} – {fmt(target.max, unit)}"
    if target.min is not None:
        return f"at least {fmt(target.min, unit)}"
    return f"at most {fmt(target.max, unit)}"


def target_color(status: bool | None, kpi: Kpi) -> str:
    """A tile's colour: green when its value meets the target, red when it misses it; without a target, the
    direction of the change (delta_color)."""
    if status is None:
        return delta_color(kpi)
    return "green" if status else "red"


def target_note(target: Target | None, value, unit: Unit) -> str:
    """What a tile's help says about its target: "Target at least 95.0%: missed." (empty without a target)."""
    status = on_target(target, value)
    if target is None:
        return ""
    verdict = {True: "met", False: "missed", None: "no value to compare"}[status]
    return f" Target {target_text(target, unit)}: {verdict}."


# The data's as-of date, which the sidebar (filters.py) keeps here on every rerun: a tile whose latest point is the
# as-of date's own month says that it is a month to date.
AS_OF_KEY = "data_as_of_date"


def is_month_to_date(month, as_of: date | None) -> bool:
    """Whether `month` (its first day) is the as-of date's month and that month is not over on the as-of date."""
    if not isinstance(month, date) or isinstance(month, datetime) or as_of is None:
        return False
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return (month.year, month.month) == (as_of.year, as_of.month) and as_of.toordinal() < following.toordinal() - 1


def tile(
    name: str,
    points: list[tuple[object, float]],
    period: str = "month",
    kpi: Kpi | None = None,
    note: str | None = None,
    target: Target | None = None,
) -> None:
    """A metric: the last of `points` (label, value), its change against the one before, and all of them as a
    sparkline. With no points the tile says there is no data for the selection, rather than showing a zero. A
    latest month that is not over yet is marked month to date. With a target (the KPI's own from `targets()`
    unless given) the change and sparkline are green when the value meets it and red when it misses it, and the
    description says which."""
    kpi = kpi or KPIS[name]
    target = target or targets().get(name)
    if not points:
        st.metric(kpi.label, EMPTY, help=f"{kpi.help} No data for the selection.", border=True)
        return
    (last_label, last), previous = points[-1], (points[-2] if len(points) > 1 else (None, None))
    as_of = st.session_state.get(AS_OF_KEY)
    to_date = is_month_to_date(last_label, as_of)
    description = f"vs {_label(previous[0], short=True)}" if previous[0] is not None else None
    when = note or _label(last_label)
    if to_date:
        # Short: the description shares a line with the change in a narrow tile; the help says it in full.
        description = f"MTD {description}" if description else "MTD"
        when = f"{when} to date (as of {as_of:%d %b %Y})"
    status = on_target(target, last)
    delta, arrow = fmt_delta(last, previous[1], kpi.unit), "auto"
    if status is not None:
        # Not by colour alone: the word is there for a reader who cannot tell red from green. Without a change to
        # show, the verdict takes the change's place so that the colour has something to colour.
        verdict = "target met" if status else "target missed"
        if delta is None:
            delta, arrow = verdict, "off"
        else:
            description = f"{description} · {verdict}" if description else verdict
    st.metric(
        kpi.label,
        fmt(last, kpi.unit),
        delta,
        delta_color=target_color(status, kpi),
        delta_arrow=arrow,
        help=f"{kpi.help} {when}.{target_note(target, last, kpi.unit)}",
        border=True,
        chart_data=[v for _, v in points if not formatting.is_empty(v)] if len(points) > 1 else None,
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
    as_of = meta["as_of_date"].strftime("%d %b %Y") if meta["as_of_date"] else EMPTY
    return (
        f"Data as of **{as_of}** · last successful run {published:%d %b %Y %H:%M} UTC ({age}), "
        f"run `{meta['run_id'][:8]}`"
    )


DEFAULT_STALE_DAYS = 2


def stale_days() -> int:
    """How many days old the data's as-of date may be before the pages say it is stale (env `SCM_STALE_DAYS`)."""
    return int(os.environ.get("SCM_STALE_DAYS") or DEFAULT_STALE_DAYS)


def staleness(as_of: date | None, today: date | None = None, limit: int | None = None) -> str | None:
    """The banner when the as-of date is more than `limit` days before today, else None."""
    if as_of is None:
        return None
    limit = stale_days() if limit is None else limit
    age = ((today or datetime.now(UTC).date()) - as_of).days
    if age <= limit:
        return None
    return (
        f"The data is {age} days old: as of {as_of:%d %b %Y}, more than {limit} day{'s' if limit != 1 else ''} "
        "before today. No run has published newer data since: see the latest runs and the landed feeds."
    )
