"""The common filters in the sidebar: month range, category, warehouse, channel.

The widgets are drawn by the entry point on every rerun, before the page, and keep their values in
`st.session_state` under their keys, so a choice made on one page holds on every other. "All" is None, which the
queries read as no filter.

The filters also live in the URL (`?from=2025-01&to=2025-06&category=...&warehouse=...&channel=...`): a new
session (a bookmark, a shared link, a reload) starts from the URL's values, and every rerun writes the current
ones back, leaving out those at their default, so the address bar always reproduces the page. A value the
snapshot does not have (a typo, a month no longer kept) falls back to the default without an error. Other query
parameters (a page's drill-down) are left as they are.
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
_INITIAL_MONTHS_KEY = "filter_months_initial"
DEFAULT_MONTHS = 12

# The URL's query parameters of the filters.
FROM_PARAM, TO_PARAM, CATEGORY_PARAM, WAREHOUSE_PARAM, CHANNEL_PARAM = "from", "to", "category", "warehouse", "channel"
_MEMBER_PARAMS = {CATEGORY_KEY: CATEGORY_PARAM, WAREHOUSE_KEY: WAREHOUSE_PARAM, CHANNEL_KEY: CHANNEL_PARAM}


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


def month_param(month: date) -> str:
    """A month as the URL writes it: 2025-03."""
    return f"{month:%Y-%m}"


def parse_month(text: str | None, months: list[date]) -> date | None:
    """The month of `months` that `text` (2025-03) names, else None."""
    try:
        year, month = (int(part) for part in (text or "").split("-"))
        wanted = date(year, month, 1)
    except ValueError:
        return None
    return wanted if wanted in months else None


def months_from_url(params: dict[str, str], months: list[date], default: tuple[date, date]) -> tuple[date, date]:
    """The month range the URL asks for, each end the default's where the URL has none or one the snapshot does
    not have; the default when the ends are the wrong way round."""
    first = parse_month(params.get(FROM_PARAM), months) or default[0]
    last = parse_month(params.get(TO_PARAM), months) or default[1]
    return (first, last) if first <= last else default


def member_from_url(params: dict[str, str], param: str, members) -> str | None:
    """The URL's value of `param` when it is one of `members`, else None (all)."""
    value = params.get(param)
    return value if value in members else None


def url_params(chosen: Selection, default_range: tuple[date, date] | None) -> dict[str, str | None]:
    """The filters' query parameters for `chosen`: None for a filter at its default (left out of the URL)."""
    months_default = default_range is None or chosen.months == default_range
    return {
        FROM_PARAM: None if months_default else month_param(chosen.first_month),
        TO_PARAM: None if months_default else month_param(chosen.last_month),
        CATEGORY_PARAM: chosen.category,
        WAREHOUSE_PARAM: chosen.warehouse,
        CHANNEL_PARAM: chosen.channel,
    }


def _write_url(wanted: dict[str, str | None]) -> None:
    # Only what changed: each write is a message to the browser.
    for param, value in wanted.items():
        if value is None:
            if param in st.query_params:
                del st.query_params[param]
        elif st.query_params.get(param) != value:
            st.query_params[param] = value


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
    # A new session starts from the URL; later reruns keep what the reader chose (and write it to the URL below).
    params = st.query_params.to_dict()
    default = default_months(months, as_of) if len(months) > 1 else None
    # The slider's initial value is the session's first URL's, kept for the session: a slider whose value
    # argument changed between reruns would start over, and one set through the Session State API ignores it.
    initial = st.session_state.get(_INITIAL_MONTHS_KEY)
    if default is not None and not (isinstance(initial, tuple) and all(m in months for m in initial)):
        initial = st.session_state[_INITIAL_MONTHS_KEY] = months_from_url(params, months, default)
    members = {CATEGORY_KEY: options["categories"], WAREHOUSE_KEY: warehouses, CHANNEL_KEY: options["channels"]}
    for key, param in _MEMBER_PARAMS.items():
        # Only a member: a selectbox whose state is set to None shows no choice at all rather than "All".
        if key not in st.session_state and (member := member_from_url(params, param, members[key])) is not None:
            st.session_state[key] = member

    with st.sidebar:
        st.subheader("Filters")
        if default is not None:
            first, last = st.select_slider(
                "Months",
                options=months,
                value=initial,
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
    _write_url(url_params(chosen, default))
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
