"""statsforecast's standard statistical models as demand-forecast candidates, on plain numpy arrays.

`forecast_origins` runs one model over a batch of series at every origin of a run (the backtest cut-offs,
then the as-of date), as `backtest._baseline` does for the numpy baselines: (n, n_days) demand in, NaN
where a day is not observed (before the series' first day, or censored by a stockout), forecasts out.

The models are called through their array API (`Model(...).forecast(y=..., h=...)`), not the pandas
`StatsForecast` frame API: the caller works on arrays inside worker processes.

Two things keep the cost of the expensive models (AutoETS, AutoTheta) down when every model runs at
several origins:
- the training window is capped at the last `max_train_days` days up to the origin;
- the automatic search over model forms (ETS error/trend/season/damping, the four theta variants) runs
  once per series, at its first origin that fits; later origins refit only that form's parameters.
  The form of a series' demand rarely changes within a few weeks, while the search costs several fits.
  The ETS search itself is AutoETS's in two stages (`search_ets`), which halves its cost.

Censored days are never read as demand nor as zero: the intermittent models (CrostonSBA, ADIDA, IMAPA,
TSB) see the observed days only, AutoETS and AutoTheta see the censored days imputed (`impute_censored`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from statsforecast.models import AutoETS

# statsforecast is imported where a model is fitted, not with this module: it pulls in pandas and
# statsmodels, which every `scm` command and the Dagster code location would otherwise load.

STAT_MODELS: tuple[str, ...] = ("auto_ets", "auto_theta", "croston_sba", "adida", "imapa", "tsb")

FALLBACK_DAYS = 28  # a failed fit forecasts the mean of this many last observed days
IMPUTE_WEEKS = 4  # a censored day of AutoETS / AutoTheta is the same weekday's mean over this many weeks before

# AutoTheta's `modeltype` of a fitted model -> the class that fits that variant alone.
_THETA_VARIANTS = {"STM": "Theta", "OTM": "OptimizedTheta", "DSTM": "DynamicTheta", "DOTM": "DynamicOptimizedTheta"}


def impute_censored(x: np.ndarray, season: int, weeks: int = IMPUTE_WEEKS) -> np.ndarray:
    """`x` (1-D, NaN where censored) with each NaN replaced by the mean of the observed values on the
    same position of the `weeks` previous seasons, else by the mean of all observed values (0 without any).

    AutoETS and AutoTheta take the day's position in the week from its index: dropping a censored day
    would shift every later day onto the wrong weekday. A zero would teach them a stockout as a demand
    drop. The same weekday of the last few weeks keeps both the weekly pattern and the recent level.
    """
    n = len(x)
    lagged = np.full((weeks, n), np.nan)
    for k in range(1, weeks + 1):
        lag = k * season
        if lag < n:
            lagged[k - 1, lag:] = x[: n - lag]
    seen = ~np.isnan(lagged)
    count = seen.sum(axis=0)
    same_weekday = np.where(seen, lagged, 0.0).sum(axis=0) / np.maximum(count, 1)
    observed = x[~np.isnan(x)]
    overall = observed.mean() if observed.size else 0.0
    return np.where(np.isnan(x), np.where(count > 0, same_weekday, overall), x)


def search_ets(x: np.ndarray, season: int) -> AutoETS:
    """The fitted AutoETS of the lowest AICc, searched in two stages: every undamped form (error, trend
    and season, as `model="ZZZ"`), then the damped version of the winner if it has a trend.

    Damped fits are the slowest of the search, and AutoETS's exhaustive one tries a damped version of every
    trended form; on weekly daily-demand panels the two stages pick the same form for nearly every series
    at half the cost (what a series loses otherwise is a damped trend where it has almost none).
    """
    from statsforecast.models import AutoETS

    best = AutoETS(season_length=season, damped=False).fit(x)
    form = best.model_["components"]
    if form[1] != "N":
        try:
            damped = AutoETS(season_length=season, model=form[:3], damped=True).fit(x)
        except Exception:  # the optimiser found no damped fit: the undamped winner stands
            return best
        if damped.model_["aicc"] < best.model_["aicc"]:
            best = damped
    return best


def _ets(x: np.ndarray, h: int, season: int, form: str | None) -> tuple[np.ndarray, str]:
    """AutoETS forecast and the form it used: searched when `form` is None, else a refit of `form`
    (statsforecast's `components`: error, trend, season, then D for a damped trend or N)."""
    if form is not None and "M" in form[:3] and x.min() <= 0:
        # A multiplicative form chosen on positive demand cannot be fitted once a zero enters the window
        # (statsforecast refuses it): search again rather than fall back.
        form = None
    if form is None:
        model = search_ets(x, season)
        return model.predict(h=h)["mean"], model.model_["components"]
    from statsforecast.models import AutoETS

    fixed = AutoETS(season_length=season, model=form[:3], damped=form[3] == "D")
    return fixed.forecast(y=x, h=h)["mean"], form


def _theta(x: np.ndarray, h: int, season: int, form: str | None) -> tuple[np.ndarray, str]:
    """AutoTheta forecast and its variant (STM, OTM, DSTM, DOTM): searched when `form` is None, else fitted."""
    if form is None:
        from statsforecast.models import AutoTheta

        model = AutoTheta(season_length=season).fit(x)
        return model.predict(h=h)["mean"], model.model_["modeltype"]
    import statsforecast.models

    variant = getattr(statsforecast.models, _THETA_VARIANTS[form])
    return variant(season_length=season).forecast(y=x, h=h)["mean"], form


def _intermittent(name: str, tsb_alpha_d: float, tsb_alpha_p: float) -> Callable[[np.ndarray, int], np.ndarray]:
    from statsforecast.models import ADIDA, IMAPA, TSB, CrostonSBA

    if name == "croston_sba":
        model = CrostonSBA()
    elif name == "adida":
        model = ADIDA()
    elif name == "imapa":
        model = IMAPA()
    else:
        model = TSB(alpha_d=tsb_alpha_d, alpha_p=tsb_alpha_p)
    return lambda x, h: model.forecast(y=x, h=h)["mean"]


def forecast_origins(
    name: str,
    y: np.ndarray,
    first: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    fit: np.ndarray,
    *,
    season: int = 7,
    max_train_days: int | None = 364,
    tsb_alpha_d: float = 0.1,
    tsb_alpha_p: float = 0.05,
) -> np.ndarray:
    """(n, len(origins), horizon) forecasts of model `name` made at each origin (ascending positions on the
    day axis) from y[i, first[i] : origin + 1]; NaN where fit[i] is False or the series has fewer than
    2 * season observed days up to that origin.

    Only the last `max_train_days` days up to each origin are used (None: all of them), and the observed
    days are counted within them. A series whose observed days there are all zero forecasts 0. Forecasts
    are clipped at 0. A fit that raises or gives a non-finite forecast (statsforecast does on degenerate
    data) forecasts the mean of the last FALLBACK_DAYS observed days for that series and origin instead
    of failing the batch.
    """
    if name not in STAT_MODELS:
        raise ValueError(f"unknown statistical model {name!r}; known: {STAT_MODELS}")
    n, _ = y.shape
    out = np.full((n, len(origins), horizon), np.nan)
    seasonal = name in ("auto_ets", "auto_theta")
    searched = {"auto_ets": _ets, "auto_theta": _theta}.get(name)
    plain = None if seasonal else _intermittent(name, tsb_alpha_d, tsb_alpha_p)
    for i in np.flatnonzero(fit):
        form = None  # the AutoETS / AutoTheta form of this series, chosen at its first fitted origin
        for j, origin in enumerate(origins):
            start = int(first[i]) if max_train_days is None else max(int(first[i]), int(origin) + 1 - max_train_days)
            window = y[i, start : int(origin) + 1]
            seen = ~np.isnan(window)
            if seen.sum() < 2 * season:
                continue
            observed = window[seen]
            if not observed.any():
                out[i, j] = 0.0
                continue
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    # Degenerate windows make the optimisers warn; a bad result is caught below instead.
                    warnings.simplefilter("ignore", RuntimeWarning)
                    if seasonal:
                        # Leading censored days carry no weekday information the later days lack.
                        x = impute_censored(window[np.argmax(seen) :], season)
                        fc, form = searched(x, horizon, season, form)
                    else:
                        fc = plain(observed, horizon)
                fc = np.asarray(fc, dtype=float)
                if fc.shape != (horizon,) or not np.isfinite(fc).all():
                    raise FloatingPointError(f"{name} gave a non-finite forecast")
            except Exception:
                # Not counted anywhere: the fallback is a plain level forecast, scored in the backtest like
                # any other, so a series where the model keeps failing simply does not select it.
                fc = np.full(horizon, observed[-FALLBACK_DAYS:].mean())
            out[i, j] = np.maximum(fc, 0.0)
    return out
