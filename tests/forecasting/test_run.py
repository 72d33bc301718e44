"""run_forecast end to end on synthetic series: the frames' shape, accuracy, intervals, censoring."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from conftest import AS_OF, HORIZON, PROPHET_DAYS

from forecasting import MODELS, ForecastConfig, ForecastRun, run_forecast
from forecasting.run import FORECAST_SCHEMA, METRIC_SCHEMA, SELECTION_SCHEMA

KEYS = ["sku", "warehouse_id"]


@pytest.fixture(scope="module")
def run(history: pl.DataFrame) -> ForecastRun:
    # Not raced, so that every model forecasts every series it is fitted to (the race: test_prophet_model.py).
    cfg = ForecastConfig(workers=1, prophet_min_days=PROPHET_DAYS, prophet_race=False)
    return run_forecast(history, cfg, as_of=AS_OF)


def wape(frame: pl.DataFrame) -> float:
    return frame.select((pl.col("y") - pl.col("yhat")).abs().sum() / pl.col("y").sum()).item()


def test_frames_have_the_interface_columns(run):
    assert run.forecasts.schema == pl.Schema(FORECAST_SCHEMA)
    assert run.metrics.schema == pl.Schema(METRIC_SCHEMA)
    assert run.selection.schema == pl.Schema(SELECTION_SCHEMA)
    assert run.params["n_series"] == 6
    assert run.params["cutoff_dates"] == [str(AS_OF - timedelta(days=28 * k)) for k in (3, 2, 1)]


def test_forecast_dates_start_the_day_after_as_of(run):
    per_series_model = run.forecasts.group_by(*KEYS, "model").agg(
        pl.col("forecast_date").min().alias("first"), pl.col("forecast_date").max().alias("last"), pl.len()
    )
    assert per_series_model["first"].unique().to_list() == [AS_OF + timedelta(days=1)]
    assert per_series_model["last"].unique().to_list() == [AS_OF + timedelta(days=HORIZON)]
    assert per_series_model["len"].unique().to_list() == [HORIZON]


def test_every_model_forecasts_and_one_is_selected_per_series(run):
    models = run.forecasts.group_by(KEYS).agg(pl.col("model").unique().sort())
    smooth = models.filter(pl.col("sku") != "SKU-E")  # the intermittent series gets no Prophet fit
    assert all(sorted(m) == sorted(MODELS) for m in smooth["model"])
    assert run.params["n_series_prophet"] == 5
    selected = run.forecasts.filter("is_selected").group_by(KEYS).agg(pl.col("model").unique(), pl.len())
    assert selected.height == 6 and selected["len"].unique().to_list() == [HORIZON]
    chosen = selected.select(*KEYS, pl.col("model").list.first()).sort(KEYS)
    assert chosen.equals(run.selection.select(*KEYS, "model"))
    # Bounds are ordered and never negative.
    assert run.forecasts.filter(
        ~pl.col("yhat_lower").is_between(0, pl.col("yhat")) | (pl.col("yhat_upper") < pl.col("yhat"))
    ).is_empty()


def test_selected_models_beat_seasonal_naive_on_held_out_data(run, future):
    scored = future.filter(pl.col("y").is_not_null()).join(run.forecasts, on=[*KEYS, "forecast_date"])
    selected = wape(scored.filter("is_selected"))
    naive = wape(scored.filter(pl.col("model") == "seasonal_naive"))
    assert selected < 0.9 * naive
    # ... and in the backtest, which is what they were chosen on (where seasonal naive is a candidate:
    # not on the intermittent SKU-E).
    regular = run.selection.filter(pl.col("sku") != "SKU-E")
    assert regular.select((pl.col("wape") <= pl.col("seasonal_naive_wape")).all()).item()


def test_intervals_cover_about_their_nominal_share_of_held_out_days(run, future):
    scored = future.filter(pl.col("y").is_not_null()).join(
        run.forecasts.filter("is_selected"), on=[*KEYS, "forecast_date"]
    )
    coverage = scored.select(pl.col("y").is_between("yhat_lower", "yhat_upper").mean()).item()
    assert 0.75 <= coverage <= 0.85  # 80% intervals, on 168 held-out days


def test_metrics_and_selection_are_consistent(run):
    naive = run.metrics.filter(pl.col("model") == "seasonal_naive")
    assert naive["fva"].to_list() == [0.0] * naive.height
    assert run.metrics["n_cutoffs"].max() == 3
    joined = run.metrics.join(run.selection, on=[*KEYS, "model"])
    assert joined.height == 6 and joined.select((pl.col("wape") == pl.col("wape_right")).all()).item()
    # The intermittent series is not offered seasonal naive (see selection.py).
    assert run.selection.filter(pl.col("sku") == "SKU-E")["model"].item() != "seasonal_naive"


def test_censored_stockout_days_do_not_pull_the_forecast_down(history):
    """SKU-F was out of stock for the last three weeks. Fitted with those days censored (missing), its
    forecasts are higher than fitted on the same days read as zero demand, for every model but Croston's:
    Croston updates only on days with demand, so trailing zeros never move it (TSB exists for that); and the
    global model, which learns from many series (its censoring test is in test_global_model.py)."""
    stockout = history.filter(pl.col("sku") == "SKU-F")
    as_zero = stockout.with_columns(pl.col("y").fill_null(0.0), pl.lit(False).alias("is_censored"))
    cfg = ForecastConfig(workers=1, prophet_min_days=PROPHET_DAYS, prophet_race=False)
    censored = run_forecast(stockout, cfg, as_of=AS_OF).forecasts
    zeros = run_forecast(as_zero, cfg, as_of=AS_OF).forecasts
    mean = {
        name: f.group_by("model").agg(pl.col("yhat").mean()).sort("model")
        for name, f in (("censored", censored), ("zeros", zeros))
    }
    both = mean["censored"].join(mean["zeros"], on="model", suffix="_zero")
    assert both.height == len(MODELS)
    moved = both.filter(~pl.col("model").is_in(["croston_sba", "lightgbm"]))
    assert moved.select((pl.col("yhat") > pl.col("yhat_zero") + 1).all()).item(), moved.rows()
    # Without censoring, the zeros are learned as demand; with it, the level stays near the truth (15).
    assert both.filter(pl.col("model") == "moving_average")["yhat"].item() > 12


def test_progress_is_reported_in_series(history):
    calls = []
    run_forecast(
        history.filter(pl.col("sku").is_in(["SKU-D", "SKU-E"])),
        ForecastConfig(workers=1, batch_size=1),
        as_of=AS_OF,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(0, 2), (1, 2), (2, 2)]


def test_params_are_json_able(run):
    import json

    assert json.loads(json.dumps(run.params))["config"]["horizon"] == HORIZON


def test_a_history_too_short_for_any_backtest_still_forecasts_with_the_fallback(history):
    """A new install's first files: a few days of demand, no cut-off with enough history before it. The run
    forecasts every series with the fallback model instead of failing (and with it the whole pipeline)."""
    short = history.filter(pl.col("date") > AS_OF - timedelta(days=3))
    cfg = ForecastConfig(workers=1, models=("seasonal_naive", "moving_average", "tsb"))
    run = run_forecast(short, cfg, as_of=AS_OF)
    assert run.selection["model"].unique().to_list() == [cfg.fallback_model]
    selected = run.forecasts.filter("is_selected")
    assert selected.height == 6 * HORIZON and selected["yhat"].is_not_null().all()
