"""Prophet, run as Prophet's own compiled Stan program on features built once per batch in numpy.

`prophet.Prophet.fit` spends most of a fit in pandas (feature frames, crosstabs) and in writing the data
to JSON number by number; the optimisation itself is a few milliseconds. A backtest fits each series
four times on the same days, so here the design matrix (Prophet's Fourier terms, holiday indicators and
the price regressor) is built once per batch on the run's date axis and sliced per fit, and the Stan
program (stan.py) gets exactly the data, priors and initial values Prophet gives it: absmax scaling,
Prophet's changepoint grid and linear-growth initialisation, L-BFGS (Newton under 100 rows), MAP.
`tests/forecasting/test_prophet_model.py` checks the forecasts against `prophet.Prophet` itself.

No uncertainty sampling: the run's intervals come from backtest residuals (intervals.py), which replaces
Prophet's 1000 simulated trend paths (most of a default `predict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import ForecastConfig
from .stan import StanProgram


@dataclass(frozen=True)
class ProphetSettings:
    weekly_order: int
    yearly_order: int
    yearly_min_days: int
    changepoints: int
    changepoint_range: float
    changepoint_prior_scale: float
    seasonality_prior_scale: float
    holidays_prior_scale: float
    regressor_prior_scale: float
    multiplicative: bool
    price_regressor: bool
    future_price_days: int

    @classmethod
    def from_config(cls, cfg: ForecastConfig) -> ProphetSettings:
        return cls(
            weekly_order=cfg.prophet_weekly_order,
            yearly_order=cfg.prophet_yearly_order,
            yearly_min_days=cfg.prophet_yearly_min_days,
            changepoints=cfg.prophet_changepoints,
            changepoint_range=cfg.prophet_changepoint_range,
            changepoint_prior_scale=cfg.prophet_changepoint_prior_scale,
            seasonality_prior_scale=cfg.prophet_seasonality_prior_scale,
            holidays_prior_scale=cfg.prophet_holidays_prior_scale,
            regressor_prior_scale=cfg.prophet_regressor_prior_scale,
            multiplicative=cfg.prophet_seasonality_mode == "multiplicative",
            price_regressor=cfg.prophet_price_regressor,
            future_price_days=cfg.prophet_future_price_days,
        )


def fourier(days: np.ndarray, period: float, order: int) -> np.ndarray:
    """Prophet's Fourier terms (sin, cos of each order in turn) of days since 1970-01-01."""
    x = 2 * np.pi * days[:, None] * (np.arange(1, order + 1) / period)[None, :]
    out = np.empty((len(days), 2 * order))
    out[:, 0::2], out[:, 1::2] = np.sin(x), np.cos(x)
    return out


@dataclass
class Features:
    """Regressor columns on the run's date axis (history and horizon), shared by a batch's series."""

    days: np.ndarray  # float days since 1970-01-01, one per axis position
    yearly: np.ndarray | None  # Fourier terms; None where the order is 0
    weekly: np.ndarray | None
    holidays: dict[str | None, tuple[np.ndarray, list[str]]]  # per country


@dataclass
class Fitted:
    """Parameters of one fit, by column name, to warm-start the next fit of the same series."""

    k: float
    m: float
    sigma_obs: float
    delta: np.ndarray
    beta: dict[str, float] = field(default_factory=dict)


def fit_predict(
    stan: StanProgram,
    y: np.ndarray,
    price: np.ndarray | None,
    country: str | None,
    first: int,
    origin: int,
    horizon: int,
    feats: Features,
    s: ProphetSettings,
    warm: Fitted | None = None,
) -> tuple[np.ndarray, Fitted] | None:
    """Fit on the observed days of [first, origin] and forecast days origin+1 .. origin+horizon.

    y and price are one series on the axis (NaN = not observed / no price). None when fewer than two
    days are observed (Prophet cannot fit those either)."""
    rows = first + np.flatnonzero(~np.isnan(y[first : origin + 1]))
    if len(rows) < 2:
        return None
    ahead = np.arange(origin + 1, origin + 1 + horizon)
    days = feats.days
    start, t_scale = days[rows[0]], days[rows[-1]] - days[rows[0]]
    t, t_ahead = (days[rows] - start) / t_scale, (days[ahead] - start) / t_scale
    y_obs = y[rows]
    y_scale = float(np.abs(y_obs).max()) or 1.0
    y_scaled = y_obs / y_scale

    # Columns in Prophet's order: yearly, weekly, holidays (by name), regressors.
    blocks, names, sigmas = [], [], []
    if s.yearly_order and t_scale >= s.yearly_min_days:
        blocks.append(feats.yearly)
        names += [f"yearly_delim_{i + 1}" for i in range(feats.yearly.shape[1])]
        sigmas += [s.seasonality_prior_scale] * feats.yearly.shape[1]
    if s.weekly_order:
        blocks.append(feats.weekly)
        names += [f"weekly_delim_{i + 1}" for i in range(feats.weekly.shape[1])]
        sigmas += [s.seasonality_prior_scale] * feats.weekly.shape[1]
    hol, hol_names = feats.holidays.get(country, (np.zeros((len(days), 0)), []))
    # Like Prophet's country holidays: a column for every holiday that falls in the calendar years of the
    # training days, even where those days are censored (the column is then zero; keeping it keeps the
    # optimiser's path, and so its result, identical to Prophet's).
    years = np.array([days[rows[0]], days[rows[-1]]]).astype("datetime64[D]").astype("datetime64[Y]")
    lo, hi = np.searchsorted(days, (years + np.array([0, 1])).astype("datetime64[D]").astype(float))
    seen = hol[lo:hi].any(axis=0)
    if seen.any():
        blocks.append(hol[:, seen])
        names += [n for n, keep in zip(hol_names, seen, strict=True) if keep]
        sigmas += [s.holidays_prior_scale] * int(seen.sum())
    X, X_ahead = (
        (np.hstack(blocks)[rows], np.hstack(blocks)[ahead])
        if blocks
        else (np.zeros((len(rows), 0)), np.zeros((horizon, 0)))
    )
    reg = _price_regressor(price, rows, origin, s) if s.price_regressor and price is not None else None
    if reg is not None:
        X, X_ahead = np.hstack([X, reg[0][:, None]]), np.hstack([X_ahead, np.full((horizon, 1), reg[1])])
        names.append("price")
        sigmas.append(s.regressor_prior_scale)
    if X.shape[1] == 0:  # the Stan program needs K >= 1; Prophet adds the same placeholder
        X, X_ahead, names, sigmas = np.zeros((len(rows), 1)), np.zeros((horizon, 1)), ["zeros"], [1.0]

    hist_size = int(np.floor(len(rows) * s.changepoint_range))
    n_cp = min(s.changepoints, hist_size - 1)
    t_change = t[np.linspace(0, hist_size - 1, n_cp + 1).round().astype(int)[1:]] if n_cp > 0 else np.zeros(1)

    k0 = (y_scaled[-1] - y_scaled[0]) / (t[-1] - t[0])
    fitted = Fitted(k=float(k0), m=float(y_scaled[0] - k0 * t[0]), sigma_obs=1.0, delta=np.zeros(len(t_change)))
    if y_obs.min() != y_obs.max():  # a constant series is its initial trend, as in Prophet
        init = _init(fitted, warm, names)
        mult = float(s.multiplicative)
        data = {
            "T": len(rows),
            "S": len(t_change),
            "K": X.shape[1],
            "tau": s.changepoint_prior_scale,
            "trend_indicator": 0,
            "y": y_scaled,
            "t": t,
            "cap": np.zeros(len(rows)),
            "t_change": t_change,
            "s_a": np.full(X.shape[1], 1 - mult),
            "s_m": np.full(X.shape[1], mult),
            "X": X,
            "sigmas": np.array(sigmas, dtype=float),
        }
        p = stan.optimize(data, init)
        fitted = Fitted(
            k=float(p["k"][0]),
            m=float(p["m"][0]),
            sigma_obs=float(p["sigma_obs"][0]),
            delta=p["delta"],
            beta=dict(zip(names, p["beta"].tolist(), strict=True)),
        )
        if n_cp <= 0:  # no changepoints: Prophet folds the dummy's rate change into k
            fitted.k, fitted.delta = fitted.k + float(fitted.delta.sum()), np.zeros_like(fitted.delta)
    beta = np.array([fitted.beta.get(n, 0.0) for n in names])
    on = (t_change[None, :] <= t_ahead[:, None]) * fitted.delta
    trend = ((fitted.k + on.sum(axis=1)) * t_ahead + fitted.m + (on * -t_change).sum(axis=1)) * y_scale
    effect = X_ahead @ beta
    yhat = trend * (1 + effect) if s.multiplicative else trend + effect * y_scale
    return np.maximum(yhat, 0.0), fitted  # demand is never negative


def _init(default: Fitted, warm: Fitted | None, names: list[str]) -> dict:
    """Stan inits: the previous cut-off's fit (by column name), else Prophet's defaults. It halves the
    optimiser's iterations. Where it ends up moves only along the flat trend/seasonality trade-off of the
    MAP, well inside the forecasts' noise (tests: within 2% of a cold Prophet fit)."""
    src = warm or default
    delta = src.delta if len(src.delta) == len(default.delta) else default.delta
    return {
        "k": src.k,
        "m": src.m,
        "delta": np.asarray(delta, dtype=float),
        "beta": np.array([src.beta.get(n, 0.0) for n in names]),
        "sigma_obs": max(src.sigma_obs, 1e-3),
    }


def _price_regressor(
    price: np.ndarray, rows: np.ndarray, origin: int, s: ProphetSettings
) -> tuple[np.ndarray, float] | None:
    """Standardised price on the training rows and its assumed future value, or None where it is flat.

    The price is carried forward over days without orders (a price holds until it changes). Future
    prices are not known at the cut-off, so the horizon gets the median of the last
    `future_price_days`: a short promotion does not move it, a clearance does."""
    window = price[rows[0] : origin + 1]
    seen = ~np.isnan(window)
    if seen.sum() < 2:
        return None
    idx = np.where(seen, np.arange(len(window)), 0)
    np.maximum.accumulate(idx, out=idx)
    filled = window[idx]
    filled[: np.argmax(seen)] = window[np.argmax(seen)]
    train = filled[rows - rows[0]]
    std = float(train.std(ddof=1))
    if not std > 1e-9 * max(1.0, abs(float(train.mean()))):
        return None
    mu = float(train.mean())
    future = float(np.median(filled[-s.future_price_days :]))
    return (train - mu) / std, (future - mu) / std
