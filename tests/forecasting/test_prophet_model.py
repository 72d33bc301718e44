"""The Prophet model: the same forecasts as `prophet.Prophet` with the same settings, and no log output."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

import numpy as np
import pandas as pd
import polars as pl
import pytest
from conftest import AS_OF, PROPHET_DAYS

from forecasting import ForecastConfig, run_forecast
from forecasting.calendar import holiday_matrix, holiday_table
from forecasting.prophet_model import Features, ProphetSettings, fit_predict, fourier
from forecasting.stan import StanProgram, quiet_logs

H = 28


@pytest.fixture(scope="module")
def series(history: pl.DataFrame) -> pl.DataFrame:
    """SKU-A with a price that moves (two promotions) and a few censored days."""
    a = history.filter(pl.col("sku") == "SKU-A").with_row_index("i")
    price = pl.when(pl.col("i").is_between(100, 110) | pl.col("i").is_between(300, 310)).then(8.0).otherwise(10.0)
    y = pl.when(pl.col("i").is_between(200, 205)).then(None).otherwise(pl.col("y"))
    return a.with_columns(price.alias("price"), y.alias("y")).drop("i")


def reference(series: pl.DataFrame, cfg: ForecastConfig, table) -> np.ndarray:
    """prophet.Prophet itself, with the settings the run uses."""
    logging.getLogger("prophet.plot").disabled = True  # "plotly not installed", at import
    from prophet import Prophet

    holidays = pd.DataFrame(table, columns=["holiday", "ds", "lower_window", "upper_window"])
    holidays["ds"] = pd.to_datetime(holidays["ds"])
    m = Prophet(
        yearly_seasonality=cfg.prophet_yearly_order,
        weekly_seasonality=cfg.prophet_weekly_order,
        daily_seasonality=False,
        holidays=holidays,
        changepoint_prior_scale=cfg.prophet_changepoint_prior_scale,
        uncertainty_samples=0,
    )
    m.add_regressor("price")
    df = series.select(pl.col("date").alias("ds"), "y", "price").to_pandas()
    df["ds"] = pd.to_datetime(df["ds"])
    with quiet_logs():
        m.fit(df)
    future = pd.DataFrame({"ds": pd.date_range(df["ds"].iloc[-1] + pd.Timedelta(days=1), periods=H)})
    future["price"] = df["price"].iloc[-cfg.prophet_future_price_days :].median()
    return np.maximum(m.predict(future)["yhat"].to_numpy(), 0)


def test_same_forecast_as_prophet(series):
    cfg = ForecastConfig(
        prophet_yearly_min_days=365, prophet_min_days=PROPHET_DAYS, prophet_tol_rel_obj=None
    )  # yearly on; Prophet's tolerance
    start = series["date"][0]
    axis = np.arange(np.datetime64(start, "D"), np.datetime64(AS_OF + timedelta(days=H + 1), "D"))
    days = axis.astype("int64").astype(float)
    table = holiday_table("DE", range(start.year, AS_OF.year + 1), retail_events=True)
    feats = Features(
        days=days,
        yearly=fourier(days, 365.25, 10),
        weekly=fourier(days, 7, 3),
        holidays={"DE": holiday_matrix(axis, table)},
    )
    stan = StanProgram()
    try:
        y, price = series["y"].to_numpy(), series["price"].to_numpy()
        ours, _ = fit_predict(
            stan, y.astype(float), price, "DE", 0, len(y) - 1, H, feats, ProphetSettings.from_config(cfg)
        )
    finally:
        stan.close()
    np.testing.assert_allclose(ours, reference(series, cfg, table), rtol=1e-6, atol=1e-9)


def test_run_forecast_prophet_close_to_prophet(series):
    """Inside a run the fits are warm-started from the previous cut-off, which only changes where the
    optimiser stops on a flat optimum."""
    cfg = ForecastConfig(
        workers=1,
        prophet_yearly_min_days=365,
        prophet_min_days=PROPHET_DAYS,
        models=("seasonal_naive", "moving_average", "prophet"),
    )
    run = run_forecast(series, cfg, as_of=AS_OF)
    ours = run.forecasts.filter(pl.col("model") == "prophet")["yhat"].to_numpy()
    table = holiday_table("DE", range(series["date"][0].year, AS_OF.year + 1), retail_events=True)
    ref = reference(series, cfg, table)
    assert abs(ours.sum() / ref.sum() - 1) < 0.02
    assert np.abs(ours - ref).max() < 0.05 * ref.mean()


def test_runs_print_and_log_nothing(history, capfd, caplog):
    """No cmdstan output on stdout/stderr and no cmdstanpy or prophet log records, in this process or
    in the pool's processes, even with both loggers set up to talk (as after any use of prophet)."""
    import cmdstanpy

    cmdstanpy.utils.get_logger()  # installs cmdstanpy's own INFO handler on stderr
    logging.getLogger("prophet").setLevel(logging.INFO)
    caplog.set_level(logging.DEBUG)
    two = history.filter(pl.col("sku").is_in(["SKU-A", "SKU-D"]))
    for workers in (1, 2):
        run = run_forecast(two, ForecastConfig(workers=workers, prophet_min_days=PROPHET_DAYS), as_of=AS_OF)
        assert run.params["n_series_prophet"] == 2
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert [r for r in caplog.records if r.name.split(".")[0] in ("cmdstanpy", "prophet")] == []
    assert not logging.getLogger("cmdstanpy").disabled  # the loggers are left as they were


def _one_batch(history: pl.DataFrame, cfg: ForecastConfig):
    from forecasting.backtest import forecast_batch
    from forecasting.panel import arrays, batches, make_context, series_keys

    keys = series_keys(history, cfg, AS_OF)
    ctx = make_context(keys, cfg, AS_OF)
    y, price = arrays(history, keys, ctx)
    batch = next(iter(batches(keys, ctx, [(0, keys.height)], y, price, {})))
    return batch, forecast_batch(batch, ctx)


def test_prophet_goes_past_its_first_cut_off_only_where_it_beat_every_other_model_there(history):
    from forecasting import metrics

    models = ("seasonal_naive", "moving_average", "tsb", "imapa", "auto_ets", "prophet")
    cfg = ForecastConfig(workers=1, prophet_min_days=PROPHET_DAYS, models=models)
    batch, raced = _one_batch(history, cfg)
    score = {m: metrics.cutoff_score(raced.scores[m], cfg.lead_time_weight)[:, -1] for m in models}
    others = np.vstack(
        [np.where(batch.intermittent, np.inf, score[m]) if m == "seasonal_naive" else score[m] for m in models[:-1]]
    )
    best = np.nanmin(others, axis=0)
    ran = ~np.isnan(raced.yhat[:, models.index("prophet"), 0])
    fit = batch.fit_prophet
    assert fit.sum() >= 4 and ran.any() and (fit & ~ran).any()  # both outcomes on this panel
    assert not (ran & ~fit).any()
    # Won: scored on every cut-off, and its latest one beat the best of the rest.
    assert (score["prophet"][ran] < best[ran]).all()
    assert (raced.scores["prophet"].n_cutoffs[ran] == cfg.cutoffs).all()
    # Lost: no forecast, no score, so never a candidate.
    assert np.isnan(raced.scores["prophet"].rmsse[fit & ~ran]).all()
    _, unraced = _one_batch(history, dataclasses.replace(cfg, prophet_race=False))
    assert (~np.isnan(unraced.yhat[:, models.index("prophet"), 0]) == fit).all()
