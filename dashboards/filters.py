"""The common filters in the sidebar: month range, category, warehouse, channel.

The widgets are drawn by the entry point on every rerun, before the page, and keep their values in
`st.session_state` under their keys, so a choice made on one page holds on every other. "All" is None, which the
queries read as no filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import streamlit as st

from dashboards import kpis, labels, queries

MONTHS_KEY, CATEGORY_KEY, WAREHOUSE_KEY, CHANNEL_KEY = (
    "filter_months",
    "filter_category",
    "filter_warehouse",
    "filter_channel",
)
_SELECTION_KEY = "selection"
DEFAULT_MONTHS = 12


@dataclass(frozen=True)
class Selection:
    """What every page works on: the snapshot file and the filter values (None = all)."""

    path: str
    first_month: date
    last_month: date
    category: str | None
    warehouse: str | None
    channel: str | None
    warehouse_name: str | None = None

    @property
    def months(self) -> tuple[date, date]:
        return self.first_month, self.last_month


def month_label(month: date, as_of: date | None = None) -> str:
    """The month as "Mar 2026"; the as-of date's month, while it is not over, as "Mar 2026 (to date)"."""
    return month.strftime("%b %Y") + (" (to date)" if kpis.is_month_to_date(month, as_of) else "")


def default_months(months: list[date], as_of: date | None) -> tuple[date, date]:
    """The last DEFAULT_MONTHS months up to the as-of date's own: the current month is what a morning reader asks
    about first. While it is not over it is labelled month to date, in the slider and on the tiles, so that it is
    not read as a whole month against the whole months before it."""
    current = [m for m in months if as_of is None or m <= as_of] or months
    last = current[-1]
    first = months[max(0, months.index(last) - DEFAULT_MONTHS + 1)]
    return first, last


def _drop_stale(key: str, valid) -> None:
    # A new snapshot can offer other months or members; a remembered value it no longer has would make the widget
    # raise, so it falls back to the default instead.
    if key in st.session_state and not valid(st.session_state[key]):
        del st.session_state[key]


def sidebar(path: str) -> Selection:
    """Draw the filters in the sidebar and remember what they select for the page (see `selection`)."""
    options = queries.filter_options(path)
    months = options["months"]
    as_of = options["as_of_date"]
    st.session_state[kpis.AS_OF_KEY] = as_of
    warehouses = dict(options["warehouses"])
    _drop_stale(MONTHS_KEY, lambda v: isinstance(v, tuple) and all(m in months for m in v))
    _drop_stale(CATEGORY_KEY, lambda v: v is None or v in options["categories"])
    _drop_stale(WAREHOUSE_KEY, lambda v: v is None or v in warehouses)
    _drop_stale(CHANNEL_KEY, lambda v: v is None or v in options["channels"])

    with st.sidebar:
        st.subheader("Filters")
        if len(months) > 1:
            default = default_months(months, as_of)
            first, last = st.select_slider(
                "Months",
                options=months,
                value=default,
                format_func=lambda m: month_label(m, as_of),
                key=MONTHS_KEY,
                help="By the month each KPI is taken in (see the KPI "
                "definitions): promised date for fulfilment, order date for returns.",
            )
        else:
            first = last = months[0] if months else date.today().replace(day=1)
            st.caption(f"Months: {month_label(first, as_of)}")
        category = st.selectbox(
            "Category",
            [None, *options["categories"]],
            key=CATEGORY_KEY,
            format_func=lambda c: "All categories" if c is None else c,
        )
        warehouse = st.selectbox(
            "Warehouse",
            [None, *warehouses],
            key=WAREHOUSE_KEY,
            format_func=lambda w: "All warehouses" if w is None else warehouses[w],
        )
        channel = st.selectbox(
            "Channel",
            [None, *options["channels"]],
            key=CHANNEL_KEY,
            format_func=lambda c: "All channels" if c is None else labels.code("channel", c),
        )
    chosen = Selection(
        path=path,
        first_month=first,
        last_month=last,
        category=category,
        warehouse=warehouse,
        channel=channel,
        warehouse_name=warehouses.get(warehouse),
    )
    st.session_state[_SELECTION_KEY] = chosen
    return chosen


def selection() -> Selection:
    """The selection the entry point made for this rerun."""
    return st.session_state[_SELECTION_KEY]


def not_applied(sel: Selection, reasons: dict[str, str]) -> None:
    """Say which of the chosen filters this page (or section) cannot apply, and why, instead of ignoring them
    silently: `reasons` maps a filter (category, warehouse, channel) to why it does not apply."""
    chosen = {"category": sel.category, "warehouse": sel.warehouse_name or sel.warehouse, "channel": sel.channel}
    by_reason: dict[str, list[str]] = {}
    for name, why in reasons.items():
        if chosen.get(name) is not None:
            by_reason.setdefault(why, []).append(f"{name} ({chosen[name]})")
    for why, names in by_reason.items():
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        verb = "does" if len(names) == 1 else "do"
        st.caption(
            f":material/filter_alt_off: The {listed} filter{'s' if len(names) > 1 else ''} {verb} not apply here: {why}"
        )
