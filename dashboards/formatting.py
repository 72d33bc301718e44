"""How every value on the dashboards reads: money in the currency of the data with thousands separators and cents,
shares as percent, days and units with their unit, and an empty value as a dash, never "None" or "nan".

The same rules twice: `value` writes a number as text (tiles, captions, labels), `column_config` tells
`st.dataframe` how to draw a numeric column while the column stays numeric, so a table still sorts by value.
"""

from __future__ import annotations

import math
import os
from typing import Literal

import polars as pl
import streamlit as st

from dashboards import labels
from pipelines.alerts.targets import Target

Unit = Literal["rate", "money", "days", "turns", "count", "units", "ppm"]

EMPTY = "—"
DEFAULT_CURRENCY = "EUR"
# A code with a sign of its own shows the sign; any other code is written before the amount.
_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF ", "SEK": "SEK ", "PLN": "PLN "}


def currency() -> str:
    """The currency the warehouse's amounts are in (env `SCM_CURRENCY`): the one place it is read."""
    return (os.environ.get("SCM_CURRENCY") or DEFAULT_CURRENCY).strip().upper()


def currency_sign(code: str | None = None) -> str:
    code = code or currency()
    return _SYMBOLS.get(code, f"{code} ")


def is_empty(value) -> bool:
    """None, NaN and polars' null: nothing to show."""
    if value is None:
        return True
    try:
        return math.isnan(value)
    except TypeError:
        return False


def on_target(target: Target | None, value) -> bool | None:
    """True when `value` meets `target`, False when it misses it, None without a target or a value: the one
    rule for tiles and table cells (kpis.tile, `dataframe`)."""
    if target is None or is_empty(value):
        return None
    return not target.missed_by(value)


# Table cells against their target: translucent, so the text reads on the light and the dark theme.
TARGET_STYLES = {True: "background-color: rgba(33, 195, 84, 0.18)", False: "background-color: rgba(255, 43, 43, 0.2)"}


def target_styles(values, target: Target | None) -> list[str]:
    """The CSS of each cell of a column against its target: green met, red missed, nothing without a value."""
    return [TARGET_STYLES.get(on_target(target, v), "") for v in values]


def money(value, code: str | None = None, decimals: int = 2) -> str:
    if is_empty(value):
        return EMPTY
    sign = "-" if value < 0 else ""
    return f"{sign}{currency_sign(code)}{abs(value):,.{decimals}f}"


def rate(value, decimals: int = 1) -> str:
    """A share (0.123) as percent ("12.3%")."""
    return EMPTY if is_empty(value) else f"{value:.{decimals}%}"


def days(value) -> str:
    if is_empty(value):
        return EMPTY
    return f"{value:,.1f} day" if round(value, 1) == 1 else f"{value:,.1f} days"


def units(value) -> str:
    if is_empty(value):
        return EMPTY
    return f"{value:,.0f} unit" if round(value) == 1 else f"{value:,.0f} units"


def count(value) -> str:
    return EMPTY if is_empty(value) else f"{value:,.0f}"


def value(number, unit: Unit) -> str:
    """A number in its unit, as the pages show it (and as the tests read it back)."""
    if is_empty(number):
        return EMPTY
    if unit == "rate":
        return rate(number)
    if unit == "money":
        return money(number)
    if unit == "days":
        return days(number)
    if unit == "units":
        return units(number)
    if unit == "turns":
        return f"{number:,.1f}×"
    if unit == "ppm":
        return f"{number:,.0f} ppm"
    return count(number)


def text(item) -> str:
    """Any cell or label as text: an empty one is the dash."""
    return EMPTY if is_empty(item) else str(item)


def axis_title(title: str | None, unit: Unit) -> str | None:
    """A chart axis's title with its unit: "Stock value (€)", "Lead time (days)"; a percent axis says so itself."""
    suffix = {
        "money": currency_sign().strip(),
        "days": "days",
        "units": "units",
        "ppm": "ppm",
        "turns": "turns",
    }.get(unit)
    if title is None:
        return suffix
    return f"{title} ({suffix})" if suffix else title


def d3_format(unit: Unit, decimals: int | None = None) -> str:
    """The d3-format string of a unit, for Altair axes and tooltips (money without its sign: the axis title has
    the currency)."""
    return {
        "rate": f".{1 if decimals is None else decimals}%",
        "money": f",.{2 if decimals is None else decimals}f",
        "days": ",.1f",
        "turns": ",.1f",
        "count": ",.0f",
        "units": ",.0f",
        "ppm": ",.0f",
    }[unit]


def _printf(unit: Unit, whole: bool) -> str:
    sign = currency_sign().replace("%", "%%")
    return {
        "money": f"{sign}%,.2f",
        "days": "%,d days" if whole else "%,.1f days",
        "turns": "%,.1f×",
        "count": "%,d" if whole else "%,.1f",
        "units": "%,d units" if whole else "%,.1f units",
        "ppm": "%,d ppm",
    }[unit]


def unit_of(column: str) -> Unit | None:
    """The unit a column's name says its values are in (the marts' naming: *_rate, *_value, *_days, *_qty...)."""
    words = column.split("_")
    if words[-1] in ("rate", "share", "wape", "bias", "fva") or column in ("wape", "fva", "share"):
        return "rate"
    if words[-1] in ("value", "cost", "price", "refund", "revenue") or column in ("stock_value", "ordered_value"):
        return "money"
    if "days" in words:
        return "days"
    if words[-1] == "ppm":
        return "ppm"
    if words[-1] in ("qty", "stock", "point", "demand", "forecast"):
        return "units"
    return None


def column_config(frame: pl.DataFrame, column_units: dict[str, Unit] | None = None) -> dict[str, object]:
    """The `column_config` of `st.dataframe` for `frame`: every column under its plain header (labels.header),
    each numeric column in its unit (`column_units`, else what its name says, see `unit_of`)."""
    config: dict[str, object] = {}
    for name, dtype in frame.schema.items():
        header = labels.header(name)
        unit = (column_units or {}).get(name) or (unit_of(name) if dtype.is_numeric() else None)
        if dtype == pl.Date:
            # A plain column would draw a date as a timestamp at midnight.
            config[name] = st.column_config.DateColumn(header, format="DD MMM YYYY")
        elif isinstance(dtype, pl.Datetime):
            config[name] = st.column_config.DatetimeColumn(header, format="DD MMM YYYY, HH:mm")
        elif not dtype.is_numeric():
            config[name] = st.column_config.Column(header)
        elif unit == "rate":
            # Streamlit's percent format takes its decimals from the step: 0.001 -> one decimal of percent.
            config[name] = st.column_config.NumberColumn(header, format="percent", step=0.001)
        else:
            config[name] = st.column_config.NumberColumn(header, format=_printf(unit or "count", dtype.is_integer()))
    return config


def for_display(frame: pl.DataFrame, codes: dict[str, str] | None = None) -> pl.DataFrame:
    """`frame` ready for a table: NaN as null (drawn as the dash) and the code columns in `codes` (column ->
    labels kind, e.g. {"reason_code": "reason"}) replaced by their labels."""
    frame = frame.with_columns(pl.col(pl.Float32, pl.Float64).fill_nan(None))
    for column, kind in (codes or {}).items():
        if column in frame.columns:
            frame = frame.with_columns(pl.col(column).cast(pl.String).replace(labels.CODES[kind]))
    return frame


def dataframe(
    frame: pl.DataFrame,
    column_units: dict[str, Unit] | None = None,
    codes: dict[str, str] | None = None,
    targets: dict[str, Target] | None = None,
    **kwargs,
):
    """`st.dataframe` of `frame` as a report shows it: plain headers, values in their units, codes as labels,
    empty cells as the dash, no index. `targets` (column -> its KPI's target) colours those columns' cells met or
    missed. Other keyword arguments go to `st.dataframe`; a `column_config` given is laid over this one column by
    column (e.g. a progress bar for one column, the rest as here)."""
    shown = for_display(frame, codes)
    config = column_config(shown, column_units) | kwargs.pop("column_config", {})
    options = {"hide_index": True, "placeholder": EMPTY, "width": "stretch"}
    checked = {c: t for c, t in (targets or {}).items() if c in shown.columns and t is not None}
    if checked:
        # A Styler only for the colours: the column_config's formats take precedence over the Styler's.
        styled = shown.to_pandas().style
        for column, target in checked.items():
            styled = styled.apply(target_styles, target=target, subset=[column])
        return st.dataframe(styled, column_config=config, **(options | kwargs))
    return st.dataframe(shown, column_config=config, **(options | kwargs))
