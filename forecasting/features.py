"""Features of the global demand model (global_model.py): what a series looked like at an origin, and
the calendar of the day being forecast, as float32 rows (series, origin t, lead h) for LightGBM.

Everything about the series is read from y[:, : t + 1] only, so a row can never see its own target;
the calendar of the target day t + h is known in advance. Censored days (NaN) are skipped by every
statistic (nanmean over the observed days), never read as zero demand. Level features are divided by
the series' scale at the origin, so one model serves series of 0.1 and 1,000 units a day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import holiday_table
from .metrics import squared_scale

SEASON = 7
MEANS = (7, 28, 56, 112)  # recent windows of observed days: a week, a month, two and four months
LAGS = 7  # the last week's days, one by one
QUIET_CAP = 365  # days since the last demand, capped: a year without demand is as good as never
YEAR = 364  # 52 weeks: the same weekday a year before
CAL_CAP = 30  # days to / since a holiday, capped: further away it has no pull on demand

SERIES = [
    *(f"mean_{w}" for w in MEANS),
    "mean_365",
    "trend",  # mean_28 / mean_112: rising or fading demand, a ratio trees cannot form themselves
    "share_28",
    "share_112",
    "sd_28",
    *(f"lag_{k}" for k in range(LAGS)),
    "quiet_days",
    "age_days",
    "log_scale",
    "log_level",
    "price_ratio",  # last known price / regular (max) price over the last 16 weeks: a promotion signal
    "price_vs_mean",
    "log_price",
    "group",
]
LEAD = [
    "lead",
    "weekday_mean_4",
    "weekday_mean_8",
    "weekday_last",
    "last_year",
    "weekday_ratio",  # weekday_mean_8 / mean_56: the target weekday's share of the week
    "last_year_ratio",  # last_year / mean_365: how the same days a year ago stood out
    "weekday",
    "day_of_month",
    "month",
    "week_of_year",
    "holiday",
    "days_to_holiday",
    "days_since_holiday",
    "black_friday",
    "christmas",
    "new_year",
]
# The same day's outlook for the series' category and for the whole catalogue, from their mean demand
# per day (panel()): an item's own history is too sparse to show last December's lift or this week's
# store-wide swing, its category's is not.
POOLED = [
    f"{level}_{name}"
    for level in ("category", "catalogue")
    for name in (
        "trend_7",  # mean of the last 7 days / last 28
        "trend_28",  # mean of the last 28 days / last 112
        "last_year_lift",  # the target day a year before (three either side) / the 28 days before that origin
        "weekday_ratio",  # the target weekday over the last 8 weeks / the last 56 days
    )
]
NAMES = SERIES + LEAD + POOLED
CATEGORICAL = ["group", "weekday", "holiday"]


def _nanmean(x: np.ndarray, axis: int) -> np.ndarray:
    count = np.sum(~np.isnan(x), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.nansum(x, axis=axis) / np.maximum(count, 1), np.nan)


def _window(a: np.ndarray, t: int, width: int) -> np.ndarray:
    """a[:, t - width + 1 : t + 1], NaN-padded on the left where the axis starts later (all NaN for t < 0)."""
    lo = t - width + 1
    if lo >= 0:
        return a[:, lo : t + 1]
    return np.hstack([np.full((len(a), min(-lo, width)), np.nan, a.dtype), a[:, : max(t + 1, 0)]])


def rmsse_scale(y: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """(n, len(origins)): the square root of metrics.squared_scale, M5's RMSSE scale in units."""
    return np.sqrt(squared_scale(y, origins))


@dataclass
class State:
    """The series at one origin t: scale, series features (n, len(SERIES)) and the weekday tables
    (n, 7) the lead features pick from; column p is the weekday of day t + h with p == (h - 1) mod 7."""

    t: int
    scale: np.ndarray  # (n,) what targets and level features are divided by
    started: np.ndarray  # (n,) bool: some day up to t is observed
    series: np.ndarray
    weekday_mean_4: np.ndarray
    weekday_mean_8: np.ndarray
    weekday_last: np.ndarray
    group: np.ndarray  # (n,) int: the series' row in `panel`
    panel: np.ndarray  # (n_groups + 1, n_days) panel(): each category's mean demand, the catalogue's last


def panel(y: np.ndarray, group: np.ndarray) -> np.ndarray:
    """(n_groups + 1, n_days) mean demand per day of each group's observed series (group codes 0 ..
    n_groups - 1), then of every series; NaN on a day none is observed (a closed store)."""
    group = np.asarray(group, int)
    n_groups = int(group.max()) + 1 if len(group) else 0
    seen = ~np.isnan(y)
    values = np.where(seen, y, 0.0)
    total = np.zeros((n_groups + 1, y.shape[1]))
    count = np.zeros_like(total)
    np.add.at(total, group, values)
    np.add.at(count, group, seen)
    total[-1], count[-1] = values.sum(0), seen.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def pooled(p: np.ndarray, t: int, horizon: int) -> np.ndarray:
    """(n_rows, horizon, 4) the POOLED features of each row of panel p at origin t, leads 1 .. horizon;
    reads p[:, : t + 1] only."""
    lead = np.arange(1, horizon + 1)
    w = _window(p, t, 112)
    with np.errstate(invalid="ignore", divide="ignore"):
        m7, m28, m112 = (_nanmean(w[:, -k:], 1) for k in (7, 28, 112))
        trend_7 = np.repeat((m7 / m28)[:, None], horizon, 1)
        trend_28 = np.repeat((m28 / m112)[:, None], horizon, 1)
        # Last year: the target days (three either side) against the 28 days before last year's origin.
        ly = _window(p, t + horizon + 3 - YEAR, horizon + 6 + 28)
        base = _nanmean(ly[:, :28], 1)
        days = np.lib.stride_tricks.sliding_window_view(ly[:, 28:], 7, axis=1)
        lift = _nanmean(days, 2) / base[:, None]
        weeks = _window(p, t, 8 * SEASON).reshape(len(p), 8, SEASON)
        weekday = _nanmean(weeks, 1)[:, (lead - 1) % SEASON] / _nanmean(w[:, -56:], 1)[:, None]
    return np.stack([trend_7, trend_28, lift, weekday], axis=2)


def origin_state(
    y: np.ndarray,
    price: np.ndarray,
    first: np.ndarray,
    group: np.ndarray,
    t: int,
    scale: np.ndarray,
    pooled_panel: np.ndarray | None = None,
) -> State:
    """Features of every series at origin t; `scale` is rmsse_scale at t (NaN where undefined);
    `pooled_panel` is panel(y, group), computed once for all origins (here when not given)."""
    n = len(y)
    hist = _window(y, t, max(MEANS))
    level = _nanmean(hist[:, -28:], 1)
    everything = _nanmean(y[:, : t + 1], 1)
    # Where the one-step scale is undefined or 0 (one observed day, a flat history) the mean stands in;
    # the floor keeps a series that never sold from dividing by zero.
    s = np.where(np.isfinite(scale) & (scale > 0), scale, everything)
    s = np.maximum(np.nan_to_num(s, nan=1.0), 1e-2)
    means = [_nanmean(hist[:, -w:], 1) / s for w in MEANS]
    sold = np.where(np.isnan(hist), np.nan, hist > 0)
    lags = [y[:, t - k] / s if t - k >= 0 else np.full(n, np.nan) for k in range(LAGS)]
    year = _window(y, t, QUIET_CAP)
    demand = year > 0
    quiet = np.where(demand.any(1), np.argmax(demand[:, ::-1], 1), QUIET_CAP)
    p = _window(price, t, 112)
    seen_p = ~np.isnan(p)
    last_col = np.where(seen_p.any(1), p.shape[1] - 1 - np.argmax(seen_p[:, ::-1], 1), 0)
    p_last = np.where(seen_p.any(1), p[np.arange(n), last_col], np.nan)
    with np.errstate(invalid="ignore", divide="ignore", all="ignore"):
        p_max = np.where(seen_p.any(1), np.nanmax(np.where(seen_p, p, -np.inf), 1), np.nan)
        series = np.column_stack(
            [
                *means,
                _nanmean(year, 1) / s,
                means[1] / means[3],
                _nanmean(sold[:, -28:], 1),
                _nanmean(sold, 1),
                np.sqrt(np.maximum(_nanmean(hist[:, -28:] ** 2, 1) - level**2, 0.0)) / s,
                *lags,
                quiet,
                np.minimum(t - first, 1000),
                np.log(s),
                np.log(np.nan_to_num(level, nan=0.0) + 1e-2),
                p_last / p_max,
                p_last / _nanmean(p, 1),
                np.log(p_last),
                group,
            ]
        )
    weeks8 = _window(y, t, 8 * SEASON).reshape(n, 8, SEASON)
    last = weeks8[:, -1].copy()
    for k in range(6, -1, -1):
        np.copyto(last, weeks8[:, k], where=np.isnan(last))
    return State(
        t=t,
        scale=s,
        started=np.isfinite(everything),
        series=series.astype(np.float32),
        weekday_mean_4=(_nanmean(weeks8[:, -4:], 1) / s[:, None]).astype(np.float32),
        weekday_mean_8=(_nanmean(weeks8, 1) / s[:, None]).astype(np.float32),
        weekday_last=(last / s[:, None]).astype(np.float32),
        group=np.asarray(group, int),
        panel=panel(y, group) if pooled_panel is None else pooled_panel,
    )


def calendar(axis: np.ndarray, countries: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(n_countries, len(axis), 10) calendar features of every day of the axis for each distinct country
    (the CALENDAR part of LEAD, from "weekday" on) and each series' row in it. Holidays come from
    calendar.holiday_table with the retail events: a holiday's name is one category, shared by countries
    that name it alike, and the distance to the nearest one lets the trees learn the run-up."""
    days = axis.astype("datetime64[D]")
    years = range(int(str(days[0])[:4]) - 1, int(str(days[-1])[:4]) + 2)
    ymd = days.astype(object)
    weekday = np.array([d.weekday() for d in ymd])
    dom = np.array([d.day for d in ymd])
    month = np.array([d.month for d in ymd])
    week = np.array([d.isocalendar()[1] for d in ymd])
    distinct = sorted(set(countries), key=lambda c: c or "")
    tables = {c: holiday_table(c, years, retail_events=True) for c in distinct}
    names = sorted({r[0] for rows in tables.values() for r in rows})
    code = {name: i + 1 for i, name in enumerate(names)}
    pos = (days - days[0]).astype(int)
    christmas = np.where(month == 12, np.clip(dom - 22, 0, 4), 0)  # 0, then Dec 23 .. 26 as 1 .. 4
    new_year = ((month == 12) & (dom == 31)) * 1 + ((month == 1) & (dom == 1)) * 2
    out = np.zeros((len(distinct), len(days), 10), np.float32)
    for k, c in enumerate(distinct):
        hol = np.zeros(len(days))
        event = np.full(len(days), np.nan)  # day offset inside a windowed event (Black Friday week)
        at = []
        for name, day, lo, hi in tables[c]:
            p = int((np.datetime64(day, "D") - days[0]).astype(int))
            if lo or hi:
                inside = (pos >= p + lo) & (pos <= p + hi)
                event[inside] = (pos - p)[inside]
                continue
            at.append(p)
            if 0 <= p < len(days):
                hol[p] = code[name]
        at = np.unique(np.array(at, int)) if at else np.array([-(10**6)], int)
        nxt = np.minimum(np.searchsorted(at, pos, side="left"), len(at) - 1)
        to = np.where(at[nxt] >= pos, at[nxt] - pos, CAL_CAP)
        prv = np.searchsorted(at, pos, side="right") - 1
        since = np.where(prv >= 0, pos - at[np.maximum(prv, 0)], CAL_CAP)
        cols = [weekday, dom, month, week, hol, np.minimum(to, CAL_CAP), np.minimum(since, CAL_CAP), event]
        out[k] = np.column_stack([*cols, christmas, new_year])
    row = np.array([distinct.index(c) for c in countries], int)
    return out, row


def rows(
    state: State, y: np.ndarray, cal: np.ndarray, cal_row: np.ndarray, which: np.ndarray, horizon: int
) -> np.ndarray:
    """(len(which) * horizon, len(NAMES)) float32 features of series `which` at origin state.t, for
    leads 1 .. horizon (row r is series which[r // horizon], lead r % horizon + 1)."""
    t, m = state.t, len(which)
    lead = np.arange(1, horizon + 1)
    p = (lead - 1) % SEASON
    out = np.empty((m, horizon, len(NAMES)), np.float32)
    ns = len(SERIES)
    out[:, :, :ns] = state.series[which][:, None, :]
    out[:, :, ns] = lead[None, :]
    out[:, :, ns + 1] = state.weekday_mean_4[which][:, p]
    out[:, :, ns + 2] = state.weekday_mean_8[which][:, p]
    out[:, :, ns + 3] = state.weekday_last[which][:, p]
    # The same days a year before (three either side, observed ones), known at the origin for any
    # lead up to 52 weeks: what the series did last Christmas or last Black Friday week.
    lo = t + 1 - YEAR - 3
    ly = np.full((m, horizon + 6), np.nan)
    a, b = max(lo, 0), max(lo + horizon + 6, 0)
    if b > a:
        ly[:, a - lo : b - lo] = y[which, a:b]
    ly = np.lib.stride_tricks.sliding_window_view(ly, 7, axis=1)
    out[:, :, ns + 4] = _nanmean(ly, 2) / state.scale[which][:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, :, ns + 5] = out[:, :, ns + 2] / out[:, :, SERIES.index("mean_56")]
        out[:, :, ns + 6] = out[:, :, ns + 4] / out[:, :, SERIES.index("mean_365")]
    nl = ns + len(LEAD)
    out[:, :, ns + 7 : nl] = cal[:, t + 1 : t + 1 + horizon][cal_row[which]]
    pool = pooled(state.panel, t, horizon)
    k = pool.shape[2]
    out[:, :, nl : nl + k] = pool[state.group[which]]
    out[:, :, nl + k :] = pool[-1][None]
    return out.reshape(m * horizon, len(NAMES))
