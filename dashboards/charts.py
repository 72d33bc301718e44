"""The Altair charts of the dashboards, few kinds and all alike: no chart titles (the page's subheader says what
it is), axes formatted in the KPI's unit with the unit in the axis title (the currency on money), a tooltip on every
mark under plain headers (labels.py), codes shown as their labels, and legends on top where they do not cover
data."""

from __future__ import annotations

import altair as alt
import polars as pl

from dashboards import formatting, labels
from dashboards.formatting import Unit, axis_title
from pipelines.alerts.targets import Target

# Axes round (whole percent, whole amounts); tooltips and bar labels carry the formats of formatting.py.
_AXIS_FORMAT = {
    "rate": ".0%",
    "money": ",.0f",
    "days": ",~f",
    "turns": "~g",
    "count": ",.0f",
    "units": ",.0f",
    "ppm": ",.0f",
}
# One tick per month at most: left to itself Vega puts ticks mid-month on short ranges, labelled twice.
_MONTH_AXIS = alt.Axis(format="%b %y", labelAngle=0, title=None, tickCount={"interval": "month", "step": 1})
# Distinct hues for a handful of series (Streamlit's own palette puts shades of one hue side by side).
_SERIES_COLORS = alt.Scale(scheme="tableau10")
HEIGHT = 260
# Bars against a target: the tiles' green and red (kpis.target_color), grey without a value.
TARGET_STATUS = {True: "target met", False: "target missed", None: "no value"}
TARGET_COLORS = {"target met": "#21c354", "target missed": "#ff4b4b", "no value": "#bdbdbd"}
# Streamlit fits the whole chart, axes and legend included, into the height: per-row charts add room for those.
BAR_ROW = 34
AXIS_ROOM = 40
LEGEND_ROOM = 60


def _coded(df: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """The code columns of `df` as their labels (return reasons, dispositions, models...; other values unchanged)."""
    coded = [c for c in dict.fromkeys(columns) if c in df.columns and df.schema[c] == pl.String]
    return df.with_columns(pl.col(c).replace(labels.ANY_CODE) for c in coded) if coded else df


def _tip(field: str, unit: Unit, title: str | None = None, aggregate: str | None = None) -> alt.Tooltip:
    name = f"{aggregate}({field})" if aggregate else field
    return alt.Tooltip(
        f"{name}:Q", title=axis_title(title or labels.header(field), unit), format=formatting.d3_format(unit)
    )


def _text(field: str, unit: Unit) -> str:
    """A Vega expression writing `field` as formatting.value does: the currency's sign, the unit's word."""
    number = f"format(datum['{field}'], '{formatting.d3_format(unit)}')"
    if unit == "money":
        return f"'{formatting.currency_sign()}' + {number}"
    if unit in ("days", "units", "ppm"):
        return f"{number} + ' {unit}'"
    return number


def target_lines(columns: dict[str, str], targets: dict[str, Target] | None, unit: Unit) -> pl.DataFrame:
    """One row per bound of each plotted column's target (`targets` by KPI name, as the columns are named): the
    series it belongs to (its legend label), the value, and the target as the tooltip says it."""
    rows = [
        {"series": label, "target": bound, "shown": f"{side} {formatting.value(bound, unit)}"}
        for column, label in columns.items()
        if (target := (targets or {}).get(column)) is not None
        for side, bound in (("at least", target.min), ("at most", target.max))
        if bound is not None
    ]
    return pl.DataFrame(rows, schema={"series": pl.String, "target": pl.Float64, "shown": pl.String})


def trend(
    df: pl.DataFrame,
    x: str,
    columns: dict[str, str],
    unit: Unit,
    zero: bool = False,
    targets: dict[str, Target] | None = None,
) -> alt.Chart:
    """Lines over months, one per column of `columns` (column -> legend label), and each column's target (from
    `targets`, by KPI name) as a dashed rule in its line's colour."""
    long = (
        df.select(x, *columns)
        .unpivot(index=x, variable_name="series", value_name="value")
        .with_columns(pl.col("series").replace_strict(columns))
    )
    many = len(columns) > 1
    lines = (
        alt.Chart(long)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:T", axis=_MONTH_AXIS),
            y=alt.Y(
                "value:Q",
                title=axis_title(None, unit),
                axis=alt.Axis(format=_AXIS_FORMAT[unit]),
                scale=alt.Scale(zero=zero),
            ),
            color=alt.Color(
                "series:N",
                title=None,
                sort=list(columns.values()),
                scale=_SERIES_COLORS,
                legend=alt.Legend(orient="top") if many else None,
            ),
            tooltip=[
                alt.Tooltip(f"{x}:T", title="Month", format="%b %Y"),
                alt.Tooltip("series:N", title="KPI"),
                _tip("value", unit, title="Value"),
            ],
        )
        .properties(height=HEIGHT)
    )
    rules = target_lines(columns, targets, unit)
    if rules.is_empty():
        return lines
    rule = (
        alt.Chart(rules)
        .mark_rule(strokeDash=[6, 4], strokeWidth=1.5)
        .encode(
            y=alt.Y("target:Q"),
            color=alt.Color("series:N", scale=_SERIES_COLORS, legend=None),
            tooltip=[alt.Tooltip("series:N", title="KPI"), alt.Tooltip("shown:N", title="Target")],
        )
    )
    return alt.layer(lines, rule).properties(height=HEIGHT)


def daily_area(df: pl.DataFrame, x: str, y: str, unit: Unit, title: str) -> alt.Chart:
    return (
        alt.Chart(df)
        .mark_area(line=True, opacity=0.3)
        .encode(
            x=alt.X(f"{x}:T", axis=alt.Axis(format="%b %y", title=None)),
            y=alt.Y(f"{y}:Q", title=axis_title(title, unit), axis=alt.Axis(format=_AXIS_FORMAT[unit])),
            tooltip=[
                alt.Tooltip(f"{x}:T", title="Day", format="%d %b %Y"),
                _tip(y, unit, title=title),
            ],
        )
        .properties(height=HEIGHT)
    )


def bars(
    df: pl.DataFrame,
    member: str,
    value: str,
    unit: Unit,
    extra_tooltip: dict[str, Unit] | None = None,
    color: str | None = None,
    sort_by_value: bool = True,
    target: Target | None = None,
) -> alt.Chart:
    """Horizontal bars, one per member, the largest on top, each labelled with its value; with a `target`, each bar
    green when its value meets it and red when it misses it (formatting.on_target), the legend saying which."""
    df = _coded(df, member)
    if target is not None:
        df = df.with_columns(
            pl.Series("target_status", [TARGET_STATUS[formatting.on_target(target, v)] for v in df[value]])
        )
    tooltips = [alt.Tooltip(f"{member}:N", title=labels.header(member)), _tip(value, unit)]
    tooltips += [_tip(c, u) for c, u in (extra_tooltip or {}).items()]
    # The order as a list: a sort by a field or channel is dropped when the two layers' data differ.
    order = df.sort(value, descending=True, nulls_last=True)[member].to_list() if sort_by_value else None
    y = alt.Y(f"{member}:N", title=None, sort=order, axis=alt.Axis(labelLimit=220))
    values = [v for v in df[value].to_list() if not formatting.is_empty(v)] or [0]
    # Room on the right for the longest bar's label, and on the left for bars below zero.
    top = max(max(values), 0) * 1.15 or 1
    bottom = min(min(values), 0) * 1.15
    scale = alt.Scale(domain=[bottom, top])
    title, axis = axis_title(None, unit), alt.Axis(format=_AXIS_FORMAT[unit])
    x = alt.X(f"{value}:Q", title=title, axis=axis, scale=scale)
    base = alt.Chart(df).encode(y=y, tooltip=tooltips)
    bar = (base.mark_bar(color=color) if color else base.mark_bar()).encode(x=x)
    if target is not None:
        # Only the statuses the bars have, in the legend.
        present = [s for s in TARGET_COLORS if s in set(df["target_status"])]
        bar = bar.encode(
            color=alt.Color(
                "target_status:N",
                title=None,
                scale=alt.Scale(domain=present, range=[TARGET_COLORS[s] for s in present]),
                legend=alt.Legend(orient="top"),
            )
        )
    # Each label right of its bar's end, or of the zero line for a bar below zero (where the bar would cover it).
    text = (
        base.transform_calculate(bar_label=_text(value, unit), label_x=f"max(datum['{value}'], 0)")
        .mark_text(align="left", dx=3)
        .encode(x=alt.X("label_x:Q", title=title, axis=axis, scale=scale), text=alt.Text("bar_label:N"))
    )
    return (bar + text).properties(height=BAR_ROW * max(3, df.height) + AXIS_ROOM)


def pareto(df: pl.DataFrame, member: str, value: str) -> alt.Chart:
    """Bars by size with the cumulative share as a line: the few causes that make most of the total."""
    ordered = (
        _coded(df, member)
        .sort(value, descending=True)
        .with_columns(
            (pl.col(value).cum_sum() / pl.col(value).sum()).alias("cumulative_share"),
            pl.int_range(pl.len()).alias("rank"),
        )
    )
    x = alt.X(
        f"{member}:N",
        sort=alt.EncodingSortField("rank"),
        title=None,
        axis=alt.Axis(labelAngle=-35, labelOverlap=False, labelLimit=140),
    )
    bar = (
        alt.Chart(ordered)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(f"{value}:Q", title=labels.header(value)),
            tooltip=[
                alt.Tooltip(f"{member}:N", title=labels.header(member)),
                _tip(value, "count"),
                _tip("cumulative_share", "rate", title="Cumulative share"),
            ],
        )
    )
    line = (
        alt.Chart(ordered)
        .mark_line(point=True, color="#e45756")
        .encode(
            x=x,
            y=alt.Y(
                "cumulative_share:Q",
                title="Cumulative share",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
        )
    )
    return alt.layer(bar, line).resolve_scale(y="independent").properties(height=HEIGHT)


def stacked_share(df: pl.DataFrame, x: str, member: str, value: str) -> alt.Chart:
    """Share of each member per x (e.g. units returned per supplier, by reason), bars to 100%."""
    df = _coded(df, x, member)
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            y=alt.Y(f"{x}:N", title=None, axis=alt.Axis(labelLimit=220)),
            x=alt.X(f"sum({value}):Q", stack="normalize", title="Share", axis=alt.Axis(format=".0%")),
            color=alt.Color(
                f"{member}:N",
                title=None,
                scale=_SERIES_COLORS,
                legend=alt.Legend(orient="top", columns=3, labelLimit=160),
            ),
            tooltip=[
                alt.Tooltip(f"{x}:N", title=labels.header(x)),
                alt.Tooltip(f"{member}:N", title=labels.header(member)),
                _tip(value, "count", aggregate="sum"),
            ],
        )
        # The legend wraps at three labels a row, each row taking room from the bars.
        .properties(
            height=BAR_ROW * max(3, df[x].n_unique()) + AXIS_ROOM + LEGEND_ROOM * -(-df[member].n_unique() // 6)
        )
    )


def box(df: pl.DataFrame, member: str, reference: str | None = None) -> alt.Chart:
    """A box plot from quantiles the query computed: whiskers p10-p90, box q1-q3, median tick, and an optional
    reference tick (e.g. the contracted lead time) in red."""
    y = alt.Y(f"{member}:N", title=None, axis=alt.Axis(labelLimit=220))
    names = {"p10_days": "10th percentile", "q1_days": "Lower quartile", "median_days": "Median"}
    names |= {"q3_days": "Upper quartile", "p90_days": "90th percentile"}
    tooltip = [alt.Tooltip(f"{member}:N", title=labels.header(member))] + [
        _tip(c, "days", title=title) for c, title in names.items()
    ]
    base = alt.Chart(df).encode(y=y, tooltip=tooltip)
    whisker = base.mark_rule().encode(x=alt.X("p10_days:Q", title="Lead time (days)"), x2="p90_days:Q")
    iqr = base.mark_bar(size=18).encode(x="q1_days:Q", x2="q3_days:Q")
    median = base.mark_tick(color="white", thickness=2, size=18).encode(x="median_days:Q")
    layers = [whisker, iqr, median]
    if reference:
        layers.append(
            base.mark_tick(color="#e45756", thickness=2, size=26).encode(
                x=f"{reference}:Q", tooltip=[_tip(reference, "days", title="Contracted")]
            )
        )
    return alt.layer(*layers).properties(height=int(1.4 * BAR_ROW * max(3, df.height)) + AXIS_ROOM)


def histogram(df: pl.DataFrame, field: str, title: str, clip: float, maxbins: int = 30) -> alt.Chart:
    """Distribution of `field`, values above `clip` drawn in the last bin so a long tail does not hide the rest."""
    clipped = df.select(pl.col(field).clip(upper_bound=clip).alias(field)).drop_nulls()
    return (
        alt.Chart(clipped)
        .mark_bar()
        .encode(
            x=alt.X(f"{field}:Q", bin=alt.Bin(maxbins=maxbins), title=title),
            y=alt.Y("count():Q", title="SKU-warehouses"),
            tooltip=[
                alt.Tooltip(f"{field}:Q", bin=True, title=title),
                alt.Tooltip("count():Q", title="SKU-warehouses"),
            ],
        )
        .properties(height=HEIGHT)
    )


def forecast(history: pl.DataFrame, predicted: pl.DataFrame) -> alt.Chart:
    """Units ordered per day, then the forecast with its 80% interval as a band."""
    actual = (
        alt.Chart(history)
        .mark_line(color="#4c78a8")
        .encode(
            x=alt.X("day:T", title=None, axis=alt.Axis(format="%d %b")),
            y=alt.Y("units:Q", title="Units per day"),
            tooltip=[
                alt.Tooltip("day:T", title="Day", format="%d %b %Y"),
                _tip("units", "units", title="Ordered"),
            ],
        )
    )
    band = (
        alt.Chart(predicted)
        .mark_area(opacity=0.25, color="#f58518")
        .encode(
            x="day:T",
            y="yhat_lower:Q",
            y2="yhat_upper:Q",
            tooltip=[
                alt.Tooltip("day:T", title="Day", format="%d %b %Y"),
                alt.Tooltip("yhat_lower:Q", title="80% low (units)", format=",.1f"),
                alt.Tooltip("yhat_upper:Q", title="80% high (units)", format=",.1f"),
            ],
        )
    )
    predicted = _coded(predicted, "model")
    line = (
        alt.Chart(predicted)
        .mark_line(color="#f58518", strokeDash=[5, 3])
        .encode(
            x="day:T",
            y="yhat:Q",
            tooltip=[
                alt.Tooltip("day:T", title="Day", format="%d %b %Y"),
                alt.Tooltip("yhat:Q", title="Forecast (units)", format=",.1f"),
                alt.Tooltip("model:N", title="Model"),
            ],
        )
    )
    return alt.layer(actual, band, line).properties(height=HEIGHT + 40)
