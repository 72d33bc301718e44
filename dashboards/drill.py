"""Drill-downs: from a tile to the rows behind it, in the page, with a CSV of the same rows.

A button under a tile sets the `drill` query parameter to the drill-down's name; the page then shows that
drill-down's rows (under the page's filters, which the URL holds too, see filters.py) in a section of its own
with a download of the same rows. The URL names what is shown, so a drill-down can be bookmarked, sent and
reloaded; an unknown name in the URL shows nothing. Each page declares its drill-downs as a dict of name ->
`Drill`, whose rows are loaded only when it is the one shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl
import streamlit as st

from dashboards import formatting, labels

PARAM = "drill"


@dataclass(frozen=True)
class Drill:
    title: str  # what the rows are, e.g. "Due lines not OTIF, Mar 2025"
    rows: Callable[[], pl.DataFrame]
    caption: str = ""  # which rows, and how they add up to the tile
    codes: dict[str, str] = field(default_factory=dict)  # code columns -> labels kind (formatting.for_display)


def select(name: str | None) -> None:
    """Open the drill-down `name` (None closes it): a widget's callback."""
    if name is not None:
        st.query_params[PARAM] = name
    elif PARAM in st.query_params:
        del st.query_params[PARAM]


def _close() -> None:
    select(None)


def button(name: str, label: str = "Show the rows", key: str | None = None) -> None:
    """The button under a tile that opens its drill-down (`key` tells apart two tiles with the same one)."""
    st.button(
        label,
        key=f"drill_open_{key or name}",
        on_click=select,
        args=(name,),
        icon=":material/table_rows:",
        type="tertiary",
        help="The rows behind this number, under the current filters, with a CSV download.",
    )


def current(drills: dict[str, Drill]) -> str | None:
    """The name of the drill-down the URL asks for, when it is one of this page's."""
    name = st.query_params.get(PARAM)
    return name if name in drills else None


def csv(rows: pl.DataFrame, codes: dict[str, str] | None = None) -> str:
    """The rows as the table shows them, under plain headers and with codes as labels (a header two columns
    would share keeps its column name)."""
    shown = formatting.for_display(rows, codes)
    headers = [labels.header(c) for c in shown.columns]
    renamed = {c: h if headers.count(h) == 1 else c for c, h in zip(shown.columns, headers, strict=True)}
    return shown.rename(renamed).write_csv()


def show(drills: dict[str, Drill], page: str) -> pl.DataFrame | None:
    """The drill-down the URL names, if it is one of `drills`: its rows in a table, their count, the CSV download
    and a button to close it. Returns the rows shown (None when no drill-down is open)."""
    name = current(drills)
    if name is None:
        return None
    drill = drills[name]
    rows = drill.rows()
    with st.container(border=True, key="drill_section"):
        st.subheader(drill.title, anchor="drill")
        st.caption(f"{rows.height:,} rows. {drill.caption}".strip())
        if rows.is_empty():
            st.success("No rows for this selection.")
        else:
            formatting.dataframe(rows, codes=drill.codes)
        with st.container(horizontal=True):
            st.download_button(
                "Download as CSV",
                csv(rows, drill.codes),
                file_name=f"{page}-{name}.csv",
                mime="text/csv",
                icon=":material/download:",
                on_click="ignore",
                key="drill_download",
            )
            st.button("Close", key="drill_close", on_click=_close, icon=":material/close:", type="tertiary")
    return rows
