"""Baseline forecasts in numpy, vectorised over a batch of series.

Every function takes `y`: (n_series, n_days) demand up to and including the forecast origin, NaN where a
day is not observed (before the series' first demand, or censored by a stockout), and returns flat or
weekly-repeating forecasts (n_series, horizon). NaN days are skipped, never read as zero demand.
"""

from __future__ import annotations

import numpy as np

SEASON = 7


def _nanmean_or(x: np.ndarray, axis: int, default: np.ndarray | float) -> np.ndarray:
    count = np.sum(~np.isnan(x), axis=axis)
    total = np.nansum(x, axis=axis)
    return np.where(count > 0, total / np.maximum(count, 1), default)


def seasonal_naive(y: np.ndarray, horizon: int, lookback_weeks: int = 8) -> np.ndarray:
    """Same weekday last week; a censored weekday looks further back (up to `lookback_weeks`), then
    falls back to the mean of the observed days in that window (0 without any)."""
    n, t = y.shape
    width = lookback_weeks * SEASON
    window = y[:, -width:] if t >= width else np.hstack([np.full((n, width - t), np.nan), y])
    weeks = window.reshape(n, lookback_weeks, SEASON)
    last = weeks[:, -1, :].copy()
    for k in range(lookback_weeks - 2, -1, -1):
        np.copyto(last, weeks[:, k, :], where=np.isnan(last))
    fill = _nanmean_or(window, axis=1, default=0.0)
    last = np.where(np.isnan(last), fill[:, None], last)
    # Column p of the last week is day (origin - 6 + p); day origin + j shares its weekday when
    # p == (j - 1) mod 7.
    return last[:, np.arange(horizon) % SEASON]


def moving_average(y: np.ndarray, horizon: int, window: int = 28) -> np.ndarray:
    """Mean of the observed days among the last `window`; all-censored window: mean of all history."""
    level = _nanmean_or(y[:, -window:], axis=1, default=_nanmean_or(y, axis=1, default=0.0))
    return np.repeat(level[:, None], horizon, axis=1)


def tsb_levels(
    y: np.ndarray, origins: np.ndarray, first: np.ndarray, alpha: float, beta: float, warmup: int = 28
) -> np.ndarray:
    """TSB (Teunter-Syntetos-Babai) forecast level p * z at the end of each day in `origins`.

    z, the demand size, is smoothed on days with demand (alpha); p, the probability of demand, on every
    observed day (beta), so a series that stops selling decays to zero instead of holding its last size
    as Croston would. Both start from the first `warmup` days of each series (from its index `first`).
    One pass over the days, vectorised over series: (n_series, len(origins)).
    """
    n, t = y.shape
    cols = np.minimum(first[:, None] + np.arange(warmup), t - 1)
    head = y[np.arange(n)[:, None], cols]
    p = _nanmean_or(np.where(np.isnan(head), np.nan, head > 0), axis=1, default=0.5)
    z = _nanmean_or(np.where(head > 0, head, np.nan), axis=1, default=np.nan)
    out = np.full((n, len(origins)), np.nan)
    want = {int(o): i for i, o in enumerate(origins)}
    for d in range(int(max(origins)) + 1):
        yd = y[:, d]
        seen = ~np.isnan(yd)
        sold = seen & (yd > 0)
        z = np.where(sold, np.where(np.isnan(z), yd, z + alpha * (yd - z)), z)
        p = np.where(seen, p + beta * (sold - p), p)
        if d in want:
            out[:, want[d]] = p * np.nan_to_num(z)
    return out
