"""Forecast accuracy exactly as docs/kpi-definitions.md ("Plan") defines it, over a rolling-origin backtest.

For one series and model, over every scored day of every cut-off (a day is scored when its actual is
observed, i.e. not censored, and the model produced a forecast for it):

- wape = sum |actual - forecast| / sum actual
- bias = sum (forecast - actual) / sum actual
- mase = mean |actual - forecast| / mean |y_t - y_(t-7)| over the training history. The training history
  differs per cut-off, so each day's error is scaled by its own cut-off's seasonal-naive scale and MASE
  is the mean of the scaled errors; with one cut-off that is the formula as written, with several it is
  the mean of the per-cut-off MASEs weighted by their scored days. Pairs (y_t, y_(t-7)) with a censored
  side are left out of the scale; a cut-off whose scale is 0 (a flat history) does not count in MASE.
- fva (forecast value added) = wape of seasonal naive - wape of the model.

Two scale-free ones choose the model (selection.py), consistent with how a forecast is judged (M5's
RMSSE) and with what replenishment uses (the demand summed over the lead time):
- rmsse = sqrt(mean (actual - forecast)² / mean (y_t - y_(t-1))² over the training history), each day's
  squared error scaled by its own cut-off's scale, like MASE; pairs with a censored side are left out;
- lead_time_error = |sum (forecast - actual)| / (n x sqrt(that scale)) over one cut-off's n scored days:
  how far the horizon's total was off, in the same unit; the mean over cut-offs.
`rmsse_by_cutoff` and `lead_by_cutoff` keep each cut-off's, which selection weighs into its score.

Two more per series and model feed replenishment and its exceptions (kpi-definitions.md, "Plan"):
- error_sd: the sample standard deviation of the daily error (forecast - actual) over every scored day
  of every cut-off: the σ_d of safety stock;
- recent_wape: wape over the last cut-off's window alone, which the exceptions mart compares with wape
  to flag a forecast whose error jumped.

A zero sum of actuals leaves wape and bias undefined (null), a zero scale leaves mase null; neither is
reported as 0 or infinity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scores:
    """Per series (rows) for one model; NaN where undefined."""

    wape: np.ndarray
    bias: np.ndarray
    mase: np.ndarray
    mae: np.ndarray  # mean |error|: what selection falls back to where wape is undefined
    actual_total: np.ndarray
    n_cutoffs: np.ndarray  # cut-offs with at least one scored day
    error_sd: np.ndarray  # sample sd of the daily error; NaN with under two scored days
    recent_wape: np.ndarray  # wape of the last cut-off alone
    rmsse: np.ndarray
    lead_time_error: np.ndarray
    rmsse_by_cutoff: np.ndarray  # (n, n_cutoffs); NaN where unscored
    lead_by_cutoff: np.ndarray  # (n, n_cutoffs)


def seasonal_scale(y: np.ndarray, origins: np.ndarray, season: int = 7) -> np.ndarray:
    """(n_series, len(origins)): mean |y_t - y_(t-season)| over t <= origin, both days observed."""
    diff = np.abs(y[:, season:] - y[:, :-season])  # column j is t = j + season
    seen = ~np.isnan(diff)
    total = np.cumsum(np.where(seen, diff, 0.0), axis=1)
    count = np.cumsum(seen, axis=1)
    at = np.asarray(origins) - season
    ok = at >= 0
    at = np.clip(at, 0, None)
    total, count = np.where(ok, total[:, at], 0.0), np.where(ok, count[:, at], 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def squared_scale(y: np.ndarray, origins: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """(n_series, len(origins)): mean (y_t - y_(t-1))² over t <= origin, both days observed (RMSSE's scale;
    NaN before a series' first demand, so it starts there), NaN where no pair is observed. In chunks of
    series, so that a catalogue's cumulative sums stay small."""
    at = np.asarray(origins) - 1  # column j of the difference is day j + 1
    out = np.full((len(y), len(at)), np.nan)
    ok = at >= 0
    cols = np.clip(at, 0, None)
    for lo in range(0, len(y), chunk):
        d = np.diff(y[lo : lo + chunk], axis=1)
        seen = ~np.isnan(d)
        total = np.cumsum(np.where(seen, d * d, 0.0), axis=1)[:, cols]
        count = np.cumsum(seen, axis=1)[:, cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo : lo + chunk] = np.where(ok & (count > 0), total / np.maximum(count, 1), np.nan)
    return out


def score(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray, sq_scale: np.ndarray) -> Scores:
    """actual, forecast: (n_series, n_cutoffs, horizon), NaN = not scored; scale, sq_scale: (n_series,
    n_cutoffs), the seasonal-naive MAE scale and the RMSSE scale of each cut-off's history."""
    scored = ~np.isnan(actual) & ~np.isnan(forecast)
    a = np.where(scored, actual, 0.0)
    err = np.where(scored, forecast - actual, 0.0)
    n = scored.sum(axis=(1, 2))
    total = a.sum(axis=(1, 2))
    abs_err = np.abs(err)
    good_scale = (scale > 0)[:, :, None] & scored
    scaled = np.where(good_scale, abs_err / np.where(scale > 0, scale, 1.0)[:, :, None], 0.0)
    n_scaled = good_scale.sum(axis=(1, 2))
    mean_err = err.sum(axis=(1, 2)) / np.maximum(n, 1)
    sq_dev = np.where(scored, (err - mean_err[:, None, None]) ** 2, 0.0).sum(axis=(1, 2))
    # The last cut-off alone (none at all when the history is too short for a backtest: nothing scored).
    last = slice(-1, None) if actual.shape[1] else slice(0, 0)
    last_total = a[:, last].sum(axis=(1, 2))
    good_sq = (sq_scale > 0)[:, :, None] & scored
    root = np.sqrt(np.where(sq_scale > 0, sq_scale, 1.0))
    sq_err = np.where(good_sq, err**2 / (root**2)[:, :, None], 0.0)
    n_sq, n_sq_cut = good_sq.sum(axis=(1, 2)), good_sq.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        rmsse_cut = np.where(n_sq_cut > 0, np.sqrt(sq_err.sum(axis=2) / np.maximum(n_sq_cut, 1)), np.nan)
        lead_cut = np.where(
            n_sq_cut > 0, np.abs(np.where(good_sq, err, 0.0).sum(axis=2)) / (np.maximum(n_sq_cut, 1) * root), np.nan
        )
        lead_seen = ~np.isnan(lead_cut)
        lead = np.where(
            lead_seen.any(axis=1), np.nansum(lead_cut, axis=1) / np.maximum(lead_seen.sum(axis=1), 1), np.nan
        )
        return Scores(
            rmsse=np.where(n_sq > 0, np.sqrt(sq_err.sum(axis=(1, 2)) / np.maximum(n_sq, 1)), np.nan),
            lead_time_error=lead,
            rmsse_by_cutoff=rmsse_cut,
            lead_by_cutoff=lead_cut,
            wape=np.where(total > 0, abs_err.sum(axis=(1, 2)) / total, np.nan),
            bias=np.where(total > 0, err.sum(axis=(1, 2)) / total, np.nan),
            mase=np.where(n_scaled > 0, scaled.sum(axis=(1, 2)) / np.maximum(n_scaled, 1), np.nan),
            mae=np.where(n > 0, abs_err.sum(axis=(1, 2)) / np.maximum(n, 1), np.nan),
            actual_total=np.where(n > 0, total, np.nan),
            n_cutoffs=scored.any(axis=2).sum(axis=1),
            error_sd=np.where(n >= 2, np.sqrt(sq_dev / np.maximum(n - 1, 1)), np.nan),
            recent_wape=np.where(last_total > 0, abs_err[:, last].sum(axis=(1, 2)) / last_total, np.nan),
        )


def cutoff_score(scores: Scores, lead_time_weight: float) -> np.ndarray:
    """(n, n_cutoffs) what selection ranks models by at each cut-off: RMSSE + lead_time_weight x the
    lead-time error (NaN where unscored)."""
    return scores.rmsse_by_cutoff + lead_time_weight * scores.lead_by_cutoff
