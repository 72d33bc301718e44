"""Rolling-origin backtest and final forecast of every model for one batch of series (numpy only).

`forecast_batch` is the unit of work sent to a process or a Dask worker: plain arrays in, plain arrays
out, no polars frames, no shared state, so that any executor gives the same numbers. The global model is
trained across all series before the batches (run.py) and arrives in `Batch.precomputed`; it is scored
here like every other model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import baselines, intervals, metrics, statistical
from .config import COMBINED, ForecastConfig
from .prophet_model import Features, ProphetSettings, fit_predict, fourier
from .stan import StanProgram


@dataclass
class Context:
    """What every batch of one run shares. Axis position i is day `start + i`; the last history day
    (the as-of date) is position n_days - 1, the horizon follows it."""

    cfg: ForecastConfig
    days: np.ndarray  # float days since 1970-01-01 for history and horizon
    n_days: int
    origins: np.ndarray  # backtest cut-off positions, ascending
    holidays: dict[str | None, tuple[np.ndarray, list[str]]]  # per country: (bool matrix on the axis, names)
    event_days: np.ndarray  # (n_days,) bool: retail-event days the level baselines skip


@dataclass
class Batch:
    index: np.ndarray  # the series' positions in the run
    y: np.ndarray  # (n, n_days) demand, NaN where not observed (before the first day, or censored)
    price: np.ndarray  # (n, n_days) mean price, NaN without orders
    first: np.ndarray  # (n,) position of each series' first day
    country: list[str | None]
    fit_prophet: np.ndarray  # (n,) bool: Prophet is worth fitting (see panel.series_keys)
    intermittent: np.ndarray  # (n,) bool: seasonal naive is not a candidate (see selection.py)
    # (n, n_origins + 1, horizon) forecasts of the models computed across all series, per model name
    precomputed: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class BatchResult:
    index: np.ndarray
    models: list[str]
    yhat: np.ndarray  # (n, n_models, horizon), NaN where the model did not run for the series
    lower: np.ndarray
    upper: np.ndarray
    scores: dict[str, metrics.Scores]
    candidate: np.ndarray  # (n, n_models) bool: may be selected (see selection.py)
    demand_sd: np.ndarray  # (n,) sd of the observed daily demand over the last cfg.fallback_sd_days
    back: np.ndarray  # (n, n_models, n_cutoffs, horizon) backtest forecasts, NaN where not scored
    actual: np.ndarray  # (n, n_cutoffs, horizon) what happened, NaN where not scored (censored, too early)


def _baseline(name: str, y: np.ndarray, origins: np.ndarray, cfg: ForecastConfig) -> np.ndarray:
    """(n, len(origins), horizon) forecasts made at each origin from the days up to it."""
    h = cfg.horizon
    out = np.empty((len(y), len(origins), h))
    for j, o in enumerate(origins):
        past = y[:, : o + 1]
        if name == "seasonal_naive":
            out[:, j] = baselines.seasonal_naive(past, h)
        else:
            out[:, j] = baselines.moving_average(past, h, cfg.moving_average_window)
    return out


def _prophet(
    batch: Batch, ctx: Context, origins: np.ndarray, usable: np.ndarray, fit: np.ndarray, race: Race | None
) -> np.ndarray:
    """Prophet's forecasts at every usable origin of the series in `fit`. With a `race`, each series is
    first fitted at its latest backtest cut-off alone and goes on to the other origins only where it beat
    the best other model's score there: Prophet costs tens of times any other model, and where it loses
    the one cut-off it is left out (NaN: did not run) instead of paying for all of them."""
    cfg = ctx.cfg
    out = np.full((len(batch.y), len(origins), cfg.horizon), np.nan)
    if not fit.any():
        return out
    settings = ProphetSettings.from_config(cfg)
    feats = Features(
        days=ctx.days,
        yearly=fourier(ctx.days, 365.25, cfg.prophet_yearly_order) if cfg.prophet_yearly_order else None,
        weekly=fourier(ctx.days, 7.0, cfg.prophet_weekly_order) if cfg.prophet_weekly_order else None,
        holidays={c: (m.astype(float), names) for c, (m, names) in ctx.holidays.items()},
    )
    y = np.hstack([batch.y, np.full((len(batch.y), cfg.horizon), np.nan)])
    n_bt = len(origins) - 1
    stan = StanProgram(cfg.prophet_tol_rel_obj)
    try:
        for i in np.flatnonzero(fit):
            backtests = [j for j in range(n_bt) if usable[i, j]]
            heat = backtests[-1:] if race is not None else []
            # Each fit starts from the previous one's (half the optimiser's work): the race's cut-off first,
            # then the forecast and the other cut-offs, latest first.
            order = heat + [n_bt] + [j for j in reversed(backtests) if j not in heat]
            warm = None
            for j in order:
                res = fit_predict(
                    stan,
                    y[i],
                    batch.price[i],
                    batch.country[i],
                    max(int(batch.first[i]), int(origins[j]) + 1 - cfg.prophet_max_train_days),
                    int(origins[j]),
                    cfg.horizon,
                    feats,
                    settings,
                    warm,
                )
                if res is None:
                    break
                out[i, j], warm = res
                if j in heat and not race.won(i, j, out[i, j]):
                    out[i] = np.nan
                    break
    finally:
        stan.close()
    return out


@dataclass
class Race:
    """What Prophet has to beat at a backtest cut-off: the best score (selection's, metrics.cutoff_score)
    any other model reached there for the series."""

    actual: np.ndarray  # (n, n_cutoffs, horizon)
    scale: np.ndarray
    sq_scale: np.ndarray
    best: np.ndarray  # (n, n_cutoffs), inf where no other model was scored
    lead_time_weight: float

    def won(self, i: int, j: int, forecast: np.ndarray) -> bool:
        fc = np.full((1, *self.actual.shape[1:]), np.nan)
        fc[0, j] = forecast
        mine = metrics.cutoff_score(
            metrics.score(self.actual[i : i + 1], fc, self.scale[i : i + 1], self.sq_scale[i : i + 1]),
            self.lead_time_weight,
        )[0, j]
        return bool(mine < self.best[i, j]) or bool(np.isnan(mine))


def _own_forecasts(name: str, batch: Batch, ctx: Context, origins: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Every model's but Prophet's (raced against these: _prophet) and the combinations'."""
    cfg, y = ctx.cfg, batch.y
    if name in batch.precomputed:
        return batch.precomputed[name]
    # The level models estimate the regular level: event days (Black Friday week) are skipped like
    # censored ones, or a run just after the week carries its spike into the next month. Seasonal naive
    # stays the textbook benchmark.
    level_y = y if name == "seasonal_naive" else np.where(ctx.event_days[None, :], np.nan, y)
    if name in statistical.STAT_MODELS:
        # AutoETS and AutoTheta cost hundreds of times what the intermittent family does, and on series
        # with demand on under 1 / intermittent_adi of days they forecast a flat level the intermittent
        # models estimate as well: they are fitted to smooth and erratic series only.
        fit = ~batch.intermittent if name in ("auto_ets", "auto_theta") else np.ones(len(y), bool)
        return statistical.forecast_origins(
            name,
            level_y,
            batch.first,
            origins,
            cfg.horizon,
            fit,
            max_train_days=cfg.stat_max_train_days,
            tsb_alpha_d=cfg.tsb_alpha,
            tsb_alpha_p=cfg.tsb_beta,
        )
    return _baseline(name, level_y, origins, cfg)


def _ensemble(forecasts: dict[str, np.ndarray], members: tuple[str, ...]) -> np.ndarray:
    """The mean of the members' forecasts where at least two of them ran, else NaN."""
    stack = np.stack([forecasts[m] for m in members if m in forecasts])
    count = np.sum(~np.isnan(stack), axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: left NaN below
        mean = np.nanmean(stack, axis=0)
    return np.where(count >= 2, mean, np.nan)


def forecast_batch(batch: Batch, ctx: Context) -> BatchResult:
    cfg, y, h = ctx.cfg, batch.y, ctx.cfg.horizon
    final = ctx.n_days - 1
    origins = np.append(ctx.origins, final)  # the backtest cut-offs, then the forecast itself
    n_bt = len(ctx.origins)
    # A cut-off counts for a series with min_train_days of its history before it; the final origin always.
    usable = np.hstack(
        [(ctx.origins[None, :] - batch.first[:, None] + 1) >= cfg.min_train_days, np.ones((len(y), 1), bool)]
    )
    padded = np.hstack([y, np.full((len(y), h), np.nan)])
    # (n, n_bt, h); a history too short for any cut-off has no backtest, and every model is scored as unknown.
    actual = np.stack([padded[:, o + 1 : o + 1 + h] for o in ctx.origins], axis=1) if n_bt else np.empty((len(y), 0, h))
    actual = np.where(usable[:, :n_bt, None], actual, np.nan)
    scale = metrics.seasonal_scale(y, ctx.origins)
    sq_scale = metrics.squared_scale(y, ctx.origins)
    sd = intervals.recent_sd(y, cfg.fallback_sd_days)

    models = list(cfg.models)
    own = [name for name in models if name not in COMBINED and name != "prophet"]
    forecasts = {name: _own_forecasts(name, batch, ctx, origins, usable) for name in own}
    if "prophet" in models:
        race = None
        if cfg.prophet_race and n_bt:
            best = np.full((len(y), n_bt), np.inf)
            for name in own:
                allowed = ~batch.intermittent if name == "seasonal_naive" else np.ones(len(y), bool)
                back = np.where(usable[:, :n_bt, None], forecasts[name][:, :n_bt], np.nan)
                got = metrics.cutoff_score(metrics.score(actual, back, scale, sq_scale), cfg.lead_time_weight)
                best = np.where(allowed[:, None] & (got < best), got, best)
            race = Race(actual, scale, sq_scale, best, cfg.lead_time_weight)
        forecasts["prophet"] = _prophet(batch, ctx, origins, usable, batch.fit_prophet, race)
    if "ensemble" in models:
        forecasts["ensemble"] = _ensemble(forecasts, cfg.ensemble_members)
    yhat = np.full((len(y), len(models), h), np.nan)
    lower, upper = np.full_like(yhat, np.nan), np.full_like(yhat, np.nan)
    back_all = np.full((len(y), len(models), n_bt, h), np.nan)
    scores = {}
    candidate = np.ones((len(y), len(models)), bool)
    for k, name in enumerate(models):
        if name == "seasonal_naive":
            candidate[:, k] = ~batch.intermittent
        fc = forecasts[name]
        back = np.where(usable[:, :n_bt, None], fc[:, :n_bt], np.nan)
        back_all[:, k] = np.where(np.isnan(actual), np.nan, back)
        scores[name] = metrics.score(actual, back, scale, sq_scale)
        low, high = intervals.residual_bands(
            actual, back, cfg.interval, cfg.min_interval_residuals, cfg.interval_level_floor
        )
        yhat[:, k] = fc[:, n_bt]
        lower[:, k], upper[:, k] = intervals.bounds(fc[:, n_bt], low, high, sd, cfg.interval, cfg.interval_level_floor)
    return BatchResult(
        index=batch.index,
        models=models,
        yhat=yhat,
        lower=lower,
        upper=upper,
        scores=scores,
        candidate=candidate,
        demand_sd=sd,
        back=back_all,
        actual=actual,
    )
