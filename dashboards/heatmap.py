"""A heat map in the dashboards' chart style (charts.py): one cell per row and week, coloured by a rate, with a
tooltip under plain headers in each value's unit."""

from __future__ import annotations

import altair as alt
import polars as pl

from dashboards import formatting, labels
from dashboards.charts import BAR_ROW, _tip
from dashboards.formatting import Unit

# Room under the cells for the week axis and beside them for the colour legend.
AXIS_ROOM = 70


def weekly(
    df: pl.DataFrame, week: str, member: str, value: str, unit: Unit, extra_tooltip: dict[str, Unit] | None = None
) -> alt.Chart:
    """Cells by week (x) and member (y) coloured by `value`; a rate's scale runs from 0 to at least 100 %, so a
    full cell reads the same whatever the busiest week was, and a member above it stands out."""
    values = [v for v in df[value].to_list() if not formatting.is_empty(v)] or [0]
    domain = [0, max(max(values), 1.0)] if unit == "rate" else [0, max(values) or 1]
    tooltips = [
        alt.Tooltip(f"{member}:N", title=labels.header(member)),
        alt.Tooltip(f"{week}:T", title="Week of", format="%d %b %Y"),
        _tip(value, unit),
    ]
    tooltips += [_tip(c, u) for c, u in (extra_tooltip or {}).items()]
    members = df[member].n_unique()
    return (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X(f"yearmonthdate({week}):O", title=None, axis=alt.Axis(format="%d %b", labelAngle=-45)),
            y=alt.Y(f"{member}:N", title=None, axis=alt.Axis(labelLimit=220)),
            color=alt.Color(
                f"{value}:Q",
                title=labels.header(value),
                scale=alt.Scale(scheme="orangered", domain=domain),
                legend=alt.Legend(format=formatting.d3_format(unit, 0)),
            ),
            tooltip=tooltips,
        )
        .properties(height=BAR_ROW * max(2, members) + AXIS_ROOM)
    )
