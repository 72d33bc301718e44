"""One global LightGBM demand model trained across all series, as the M5 competition winners did.

Direct, not recursive: one model serves every lead time, trained on rows (series, training origin t,
lead h = 1 .. horizon) whose features read only y[:, : t + 1] and the calendar of the target day t + h,
with target y[t + h]. A recursive model would feed its own errors back through 28 steps and need 28
passes; the direct one predicts the whole horizon in one pass, and since no feature ever reads a day
after the origin, it cannot leak the future by construction. Features are in features.py.

For a forecast origin o (the first backtest cut-off, whose model the later cut-offs share, and the as-of
date) a model is trained on origins
t with t + horizon <= o only: the latest few weeks before o, plus the same weeks a year earlier so the
trees see last Christmas and last Black Friday. A row whose target day is censored is not a training
row. The target is divided by the series' RMSSE scale at its origin (the "l2" objective: each row's loss
is then exactly the squared scaled error RMSSE averages) or the log scale is the model's offset (the
"tweedie" default): either way one model serves series of 0.1 and of 1,000 units a day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import features as ft


@dataclass(frozen=True)
class GlobalSettings:
    """Defaults measured on M5 item-level daily sales (store CA_1, two 28-day hold-out windows)."""

    # "tweedie": Tweedie deviance on y with log(scale) as the offset, so trees learn demand / scale on a
    # log link (the M5 winners' loss for intermittent counts); it scored better than "l2" (squared error
    # on y / scale, RMSSE's own loss), which also learnt Christmas closing only half.
    objective: str = "tweedie"
    tweedie_power: float = 1.7  # between Poisson (1) and gamma (2); 1.1, 1.3, 1.5 scored worse on M5
    trees: int = 200  # boosting rounds; 400 at fewer leaves bought nothing on M5, and cost is per round
    learning_rate: float = 0.05  # with 200 rounds: converged, not fitted to the last weeks' noise
    leaves: int = 63  # interactions of level, weekday, holiday and lead; 127 gained within noise
    min_leaf_rows: int = 200  # a leaf averages many rows: one day's demand of one item is mostly noise
    feature_fraction: float = 0.8  # decorrelates trees, and a fifth less work per split search
    bagging_fraction: float = 0.7  # each tree sees 70% of rows: cheaper and less overfit
    l2_reg: float = 1.0  # shrinks leaves learnt from a few large targets (promotion spikes)
    recent_origins: int = 8  # origins just before o: the current level; 4 scored alike on M5, 30 worse,
    # and 8 leaves a catalogue with under a year of history enough rows
    stride: int = 7  # keeps every training origin on the forecast origin's weekday, so lead h always
    # lands on the same weekday as in the forecast; more origins (16) bought nothing on M5
    yearly_origins: int = 5  # origins around o - 52 weeks: last year's Christmas, Black Friday, season
    max_train_rows: int = 2_000_000  # with ~50 float32 features about 0.4 GiB; sampled by (series, origin)
    max_bin: int = 127  # histogram bins: half the default, faster, no loss seen
    seed: int = 0  # row sampling, bagging and feature sampling
    # Fixed, with deterministic=True, so a run gives the same numbers. One: LightGBM's OpenMP threads
    # spin-wait, and on two shared cores two threads took four times the wall time of one.
    threads: int = 1
    # The backtest cut-offs (every origin but the last) share one model, trained for the first of them:
    # its training days all precede every cut-off, so nothing leaks, and the backtest costs one training
    # instead of one per cut-off. The final forecast always gets its own. True: one model per origin.
    refit_backtest: bool = False


def _params(s: GlobalSettings) -> dict:
    base = {
        "learning_rate": s.learning_rate,
        "num_leaves": s.leaves,
        "min_data_in_leaf": s.min_leaf_rows,
        "feature_fraction": s.feature_fraction,
        "bagging_fraction": s.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": s.l2_reg,
        "max_bin": s.max_bin,
        "seed": s.seed,
        "num_threads": s.threads,
        "deterministic": True,
        "force_col_wise": True,
        "verbose": -1,
    }
    if s.objective == "tweedie":
        return {**base, "objective": "tweedie", "tweedie_variance_power": s.tweedie_power}
    if s.objective == "l2":
        return {**base, "objective": "regression"}
    raise ValueError(f"unknown objective {s.objective!r}")


def training_origins(o: int, horizon: int, s: GlobalSettings) -> np.ndarray:
    """Origins t with t + horizon <= o: the latest `recent_origins` every `stride` days, and
    `yearly_origins` around o - 52 weeks (whose targets cover the weeks being forecast, a year before)."""
    recent = o - horizon - s.stride * np.arange(s.recent_origins)
    half = s.yearly_origins // 2
    yearly = o - ft.YEAR + s.stride * np.arange(-half, s.yearly_origins - half)
    t = np.unique(np.concatenate([recent, yearly]))
    return t[(t >= 0) & (t + horizon <= o)]


def global_forecasts(
    y: np.ndarray,
    price: np.ndarray,
    first: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    axis: np.ndarray,
    country: list[str | None],
    group: np.ndarray,
    settings: GlobalSettings = GlobalSettings(),
) -> np.ndarray:
    """(n, len(origins), horizon) forecasts made at each origin (ascending day positions) from the days up to it.

    y: (n, n_days) demand, NaN before first[i] and on censored days; price: (n, n_days) mean price, NaN
    without orders; axis: datetime64[D] of the n_days history days and the horizon after them; country:
    each series' ISO country (its holidays); group: (n,) int category code. The final origin gets a model of
    its own; the backtest origins share the first one's unless `refit_backtest`.
    A series with no observed day up to an origin is forecast 0 there.
    """
    import lightgbm as lgb  # here, not at the top: the pipeline's definitions import this module

    n, n_days = y.shape
    origins = np.asarray(origins, int)
    first = np.asarray(first, int)
    group = np.asarray(group, float)
    s = settings
    plan = {int(o): training_origins(int(o), horizon, s) for o in origins}
    needed = np.unique(np.concatenate([origins, *plan.values()])).astype(int)
    scale = ft.rmsse_scale(y, needed)
    pooled = ft.panel(y, group)
    states = {
        int(t): ft.origin_state(y, price, first, group, int(t), scale[:, k], pooled) for k, t in enumerate(needed)
    }
    cal, cal_row = ft.calendar(axis, country)
    cat = [ft.NAMES.index(c) for c in ft.CATEGORICAL]
    params = _params(s)
    out = np.zeros((n, len(origins), horizon))
    booster = None
    for j, o in enumerate(origins):
        shared = booster is not None and not s.refit_backtest and j < len(origins) - 1
        if not shared:
            booster = _train(
                lgb, params, cat, s, *_training_rows(y, states, plan[int(o)], cal, cal_row, horizon, s, int(o))
            )
        if booster is None:
            continue  # nothing to learn from yet: forecasts stay 0
        st = states[int(o)]
        everyone = np.arange(n)
        raw = booster.predict(ft.rows(st, y, cal, cal_row, everyone, horizon), raw_score=True)
        raw = raw.reshape(n, horizon)
        if s.objective == "tweedie":
            fc = np.exp(np.clip(raw + np.log(st.scale)[:, None], None, 50.0))
        else:
            fc = raw * st.scale[:, None]
        fc = np.where(st.started[:, None], fc, 0.0)
        out[:, j] = np.clip(np.nan_to_num(fc, nan=0.0, posinf=0.0), 0.0, None)
    return out


def _train(lgb, params: dict, cat: list[int], s: GlobalSettings, x, target, offset):
    if len(target) == 0:
        return None
    if s.objective == "tweedie":
        data = lgb.Dataset(x, target * offset, init_score=np.log(offset), categorical_feature=cat, free_raw_data=True)
    else:
        data = lgb.Dataset(x, target, categorical_feature=cat, free_raw_data=True)
    return lgb.train(params, data, num_boost_round=s.trees)


def _training_rows(
    y: np.ndarray,
    states: dict[int, ft.State],
    origins: np.ndarray,
    cal: np.ndarray,
    cal_row: np.ndarray,
    horizon: int,
    s: GlobalSettings,
    o: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, target / scale and scale of the training rows for forecast origin o. Over
    max_train_rows, (series, origin) pairs are sampled with a seed fixed by (seed, o), so each origin's
    model is the same whichever other origins the call has."""
    pairs = [(t, np.flatnonzero(states[int(t)].started)) for t in origins]
    total = sum(len(w) for _, w in pairs) * horizon
    keep = min(1.0, s.max_train_rows / max(total, 1))
    rng = np.random.default_rng([s.seed, o])
    xs, ts, ss = [], [], []
    for t, which in pairs:
        if keep < 1.0:
            which = which[rng.random(len(which)) < keep]
        st = states[int(t)]
        target = y[which, t + 1 : t + 1 + horizon] / st.scale[which][:, None]
        ok = ~np.isnan(target).ravel()  # a censored target day teaches nothing, least of all a zero
        xs.append(ft.rows(st, y, cal, cal_row, which, horizon)[ok])
        ts.append(target.ravel()[ok].astype(np.float32))
        ss.append(np.repeat(st.scale[which], horizon)[ok].astype(np.float32))
    if not xs:
        return np.empty((0, len(ft.NAMES)), np.float32), np.empty(0, np.float32), np.empty(0, np.float32)
    return np.concatenate(xs), np.concatenate(ts), np.concatenate(ss)
