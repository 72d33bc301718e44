"""Settings of one forecasting run. Everything a run does is decided here, and recorded in its params."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from .global_model import GlobalSettings

# Every candidate, simplest first: the order breaks ties in selection (a tie never picks the costlier model).
# seasonal_naive and moving_average are numpy (baselines.py); the intermittent family, AutoETS and AutoTheta
# are statsforecast's (statistical.py); lightgbm is one global model over all series (global_model.py);
# ensemble is the mean of `ensemble_members`.
MODELS = (
    "seasonal_naive",
    "moving_average",
    "tsb",
    "croston_sba",
    "adida",
    "imapa",
    "auto_ets",
    "auto_theta",
    "ensemble",
    "lightgbm",
    "prophet",
)
# The models that have no forecast of their own.
COMBINED = ("ensemble",)


@dataclass(frozen=True)
class ForecastConfig:
    # --- horizon, backtest, intervals -----------------------------------------------------------
    horizon: int = 28  # days forecast after the as-of date (and after each backtest cut-off)
    cutoffs: int = 3  # rolling origins: as_of - k * cutoff_step for k = cutoffs .. 1
    cutoff_step: int | None = None  # days between cut-offs; None = horizon (windows tile the last days)
    min_train_days: int = 56  # a cut-off is used for a series only with this much history before it
    interval: float = 0.8  # central coverage of yhat_lower .. yhat_upper (backtest residuals: intervals.py)
    interval_level_floor: float = 0.05  # units a day; residuals are relative to the forecast level
    min_interval_residuals: int = 20  # fewer backtest residuals than this: fall back to a normal interval
    fallback_sd_days: int = 90  # ... with the sd of daily demand over this many last days

    # --- models -----------------------------------------------------------------------------------
    models: tuple[str, ...] = MODELS
    moving_average_window: int = 56  # 8 weeks: one promotion or Black Friday does not carry into next month
    tsb_alpha: float = 0.1  # smoothing of the demand size (when demand occurs)
    tsb_beta: float = 0.05  # smoothing of the demand probability (every observed day)
    baseline_skip_events: bool = True  # the level models skip Black Friday week (backtest.py)
    # statsforecast's models train on this many last days up to each origin: a year holds the weekly
    # pattern and the current level, and AutoETS's cost grows with the length (statistical.py).
    stat_max_train_days: int = 364
    lightgbm: GlobalSettings = field(default_factory=GlobalSettings)
    # The ensemble is the mean of these members' forecasts, where at least two of them ran for the series.
    # Fixed members, not "the best few by backtest": a combination chosen on the backtest would be scored
    # on the days that chose it.
    ensemble_members: tuple[str, ...] = ("lightgbm", "auto_ets", "imapa")
    # Selection (selection.py): ties go to the model listed first here, simplest first.
    preference: tuple[str, ...] = MODELS
    fallback_model: str = "moving_average"  # series with no usable cut-off at all
    # A series takes its own best model over its group's only with strong evidence: better on every
    # cut-off, and by at least this share of the group model's score.
    selection_margin: float = 0.1
    # A cut-off's score is its RMSSE + this x its lead-time error (metrics.py). The lead-time error is one
    # sum per cut-off, far noisier than the RMSSE of its 28 days: weighed equally it decided the ranking
    # on its noise (on M5's store totals it put the ensemble above a global model with a lower RMSSE on
    # both the backtest and the held-out days).
    lead_time_weight: float = 0.25
    # A (demand class, category) group with fewer series than this chooses at the demand class's level.
    min_group_series: int = 30
    # Demand classes (Syntetos-Boylan): average demand interval above intermittent_adi is intermittent or
    # lumpy, squared coefficient of variation of the demand sizes above erratic_cv2 is erratic or lumpy.
    # Seasonal naive is scored for intermittent and lumpy series (the FVA reference) but not a candidate:
    # see selection.py.
    intermittent_adi: float = 1.32
    erratic_cv2: float = 0.49
    demand_share_days: int = 365  # ADI and CV² are taken over this many last days

    # --- Prophet ----------------------------------------------------------------------------------
    # Prophet is fitted only where it can earn its cost: at least this share of days with demand among the
    # observed days of the last `demand_share_days`, and two years of observed days, where its yearly
    # seasonality is identified. With less, the statistical models and the global model (which sees last
    # year across all series) forecast as well for a fraction of the cost. 0 = fit every series.
    prophet_min_nonzero_share: float = 0.5
    prophet_min_days: int = 730
    # Raced: a series is fitted at its latest backtest cut-off first, and at the other origins only where
    # Prophet beat every other model there (backtest._prophet). False: every origin of every such series.
    prophet_race: bool = True
    # Prophet trains on at most this many last days: three yearly cycles identify the yearly seasonality,
    # and a fit's cost grows with its length.
    prophet_max_train_days: int = 1095
    prophet_weekly_order: int = 3  # Prophet's defaults below, except the changepoint prior scale
    prophet_yearly_order: int = 10
    # Yearly seasonality only with two years of history, as Prophet decides by default: with less it is
    # under-identified (Prophet warns), and on the demo data it made held-out forecasts worse.
    prophet_yearly_min_days: int = 730
    prophet_changepoints: int = 25
    prophet_changepoint_range: float = 0.8
    # 0.2, not 0.05: demand levels move with promotions, launches and clearances. On the demo data's
    # backtest it cut Prophet's pooled WAPE from 0.89 to 0.83 (and the held-out one from 0.77 to 0.74).
    prophet_changepoint_prior_scale: float = 0.2
    prophet_seasonality_prior_scale: float = 10.0
    prophet_holidays_prior_scale: float = 10.0
    prophet_regressor_prior_scale: float = 10.0
    prophet_seasonality_mode: str = "additive"  # or "multiplicative"
    prophet_retail_events: bool = True  # Black Friday week to Cyber Monday, which `holidays` does not list
    prophet_price_regressor: bool = True  # the day's mean price (standardised, as Prophet does), where it varies
    # L-BFGS stops when the objective changes by less than this x machine epsilon (CmdStan's default,
    # which Prophet uses, is 1e4). The MAP is flat along the trend/seasonality trade-off, so the last
    # iterations move parameters without moving forecasts; None = CmdStan's default.
    prophet_tol_rel_obj: float | None = 1e8
    prophet_future_price_days: int = 28  # future price = median price of this many days before the cut-off

    # --- execution --------------------------------------------------------------------------------
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)  # 1 = in this process
    # Less work per worker than this many series' worth (panel.series_cost: one fitted with AutoETS or
    # Prophet counts as several) runs in this process: starting a worker (a fresh interpreter that imports
    # statsforecast) costs more than a small catalogue's fits.
    min_series_per_worker: int = 200
    batch_size: int | None = None  # series per task; None = batches of equal cost, ~8 per worker (panel.py)
    dask_scheduler: str | None = None  # e.g. "tcp://10.0.0.5:8786": run the batches on that cluster

    def __post_init__(self) -> None:
        unknown = set(self.models) - set(MODELS)
        if unknown:
            raise ValueError(f"unknown models {sorted(unknown)}; known: {MODELS}")
        if "seasonal_naive" not in self.models:
            raise ValueError("seasonal_naive is required: forecast value added is measured against it")
        if self.fallback_model not in self.models or self.fallback_model not in ("seasonal_naive", "moving_average"):
            raise ValueError("fallback_model must be one of the numpy baselines in models")
        if self.horizon < 1 or self.cutoffs < 1 or not 0 < self.interval < 1:
            raise ValueError("horizon and cutoffs must be >= 1 and interval in (0, 1)")
        if self.prophet_seasonality_mode not in ("additive", "multiplicative"):
            raise ValueError("prophet_seasonality_mode must be additive or multiplicative")

    @property
    def step(self) -> int:
        return self.cutoff_step or self.horizon

    def to_params(self) -> dict:
        """JSON-able copy (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def effective_workers(self, cost: float) -> int:
        return max(1, min(self.workers, int(cost // max(self.min_series_per_worker, 1))))
