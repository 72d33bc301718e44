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
