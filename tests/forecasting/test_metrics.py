"""WAPE, bias, MASE and FVA equal hand computations from docs/kpi-definitions.md ("Plan")."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from forecasting import ForecastConfig, run_forecast
from forecasting.history import HISTORY_SCHEMA
from forecasting.metrics import score, seasonal_scale, squared_scale

NAN = np.nan


def test_one_cutoff_by_hand():
    actual = np.array([[[4.0, 0.0, 6.0, NAN]]])  # the last day is censored: not scored
    forecast = np.array([[[5.0, 1.0, 3.0, 100.0]]])
    scale = np.array([[2.0]])
    s = score(actual, forecast, scale, np.array([[4.0]]))
    # |e| = 1, 1, 3; sum actual = 10; sum (f - a) = 1 + 1 - 3 = -1
    assert s.wape[0] == pytest.approx(5 / 10)
    assert s.bias[0] == pytest.approx(-1 / 10)
    assert s.mase[0] == pytest.approx((5 / 3) / 2)  # mean |e| / seasonal-naive scale
    assert s.actual_total[0] == 10 and s.n_cutoffs[0] == 1
    # RMSSE: sqrt(mean e² / squared scale) = sqrt((1 + 1 + 9) / 3 / 4); lead-time error: |sum e| / (3 x 2)
    assert s.rmsse[0] == pytest.approx(((11 / 3) / 4) ** 0.5)
    assert s.lead_time_error[0] == pytest.approx(1 / 6)
    assert s.rmsse_by_cutoff[0, 0] == pytest.approx(((11 / 3) / 4) ** 0.5)
    assert s.lead_by_cutoff[0, 0] == pytest.approx(1 / 6)


def test_error_sd_and_recent_wape_by_hand():
    # two cut-offs of three days; one censored day in the first
    actual = np.array([[[4.0, NAN, 6.0], [2.0, 3.0, 5.0]]])
    forecast = np.array([[[5.0, 9.0, 3.0], [2.0, 5.0, 4.0]]])
    s = score(actual, forecast, np.array([[1.0, 1.0]]), np.array([[1.0, 1.0]]))
    errors = [1.0, -3.0, 0.0, 2.0, -1.0]  # forecast - actual on the scored days
    mean = sum(errors) / 5
    assert s.error_sd[0] == pytest.approx((sum((e - mean) ** 2 for e in errors) / 4) ** 0.5)  # sample sd
    assert s.recent_wape[0] == pytest.approx((0 + 2 + 1) / (2 + 3 + 5))  # the last cut-off alone
    one_day = score(np.array([[[4.0]]]), np.array([[[5.0]]]), np.array([[1.0]]), np.array([[1.0]]))
    assert np.isnan(one_day.error_sd[0])  # a sample sd needs two days


def test_the_rmsse_scale_is_the_mean_squared_one_step_change_of_the_history():
    y = np.array([[1.0, 3.0, NAN, 2.0, 6.0]])
    # pairs (1, 3) and (2, 6) are observed on both sides: (4 + 16) / 2 up to day 4, 4 up to day 1
    assert squared_scale(y, np.array([1, 4])).tolist() == [[4.0, 10.0]]


def test_zero_actuals_leave_wape_and_bias_undefined():
    s = score(np.zeros((1, 1, 3)), np.ones((1, 1, 3)), np.array([[0.0]]), np.array([[0.0]]))
    assert np.isnan(s.wape[0]) and np.isnan(s.bias[0]) and np.isnan(s.mase[0])
    assert s.mae[0] == 1.0 and s.actual_total[0] == 0


def test_seasonal_scale_skips_censored_pairs():
    y = np.array([[1.0, 2, 3, 4, 5, 6, 7, 3, NAN, 3, 4, 5, 6, 7, 10]])
    # pairs (t, t-7) for t = 7..14: |3-1|, censored, |3-3|, 0, 0, 0, 0, |10-3|
    assert seasonal_scale(y, np.array([7, 8, 14]))[0].tolist() == pytest.approx([2.0, 2.0, 9 / 7])
    assert np.isnan(seasonal_scale(y, np.array([6]))[0, 0])  # no pair yet


def test_run_metrics_equal_a_hand_computation():
    """Seasonal naive and a 7-day moving average on a 5-week series, two cut-offs of 7 days."""
    start, as_of = date(2025, 3, 3), date(2025, 4, 6)  # 35 days, Monday .. Sunday
    y = np.array(
        [
            5,
            7,
            6,
            8,
            9,
            3,
            2,
            6,
            8,
            5,
            9,
            10,
            4,
            1,
            4,
            6,
            7,
            7,
            8,
            2,
            3,
            7,
            9,
            6,
            NAN,
            11,
            5,
            2,  # Thursday censored
            5,
            8,
            8,
            9,
            12,
            3,
            0,
        ],
        dtype=float,
    )
    history = pl.DataFrame(
        {
            "sku": "S",
            "warehouse_id": "W",
            "date": [start + timedelta(days=i) for i in range(35)],
            "y": y,
            "is_censored": np.isnan(y),
            "price": None,
            "country": "DE",
        },
        nan_to_null=True,
    ).cast(HISTORY_SCHEMA)
    cfg = ForecastConfig(
        horizon=7,
        cutoffs=2,
        min_train_days=14,
        models=("seasonal_naive", "moving_average"),
        moving_average_window=7,
        workers=1,
        min_interval_residuals=5,
    )
    run = run_forecast(history, cfg, as_of=as_of)

    # Cut-offs on day indexes 20 and 27 (as_of - 14, as_of - 7); each forecasts the next 7 days.
    origins = [20, 27]
    actual = [y[o + 1 : o + 8] for o in origins]
    forecasts = {
        "seasonal_naive": [y[o - 6 : o + 1].copy() for o in origins],  # same weekday last week
        "moving_average": [np.full(7, np.nanmean(y[o - 6 : o + 1])) for o in origins],
    }
    scales = []
    for o in origins:
        pairs = [abs(y[t] - y[t - 7]) for t in range(7, o + 1) if not np.isnan(y[t] - y[t - 7])]
        scales.append(np.mean(pairs))
    # The seasonal-naive forecast at the second cut-off copies the censored Thursday: it falls back to
    # the Thursday a week earlier.
    forecasts["seasonal_naive"][1][3] = y[17]

    expected = {}
    for model, fc in forecasts.items():
        a = np.concatenate(actual)
        f = np.concatenate(fc)
        ok = ~np.isnan(a)
        scaled = np.concatenate([np.abs(a_ - f_) / s for a_, f_, s in zip(actual, fc, scales, strict=True)])
        expected[model] = {
            "wape": np.abs(a - f)[ok].sum() / a[ok].sum(),
            "bias": (f - a)[ok].sum() / a[ok].sum(),
            "mase": scaled[ok].mean(),
            "actual_total": a[ok].sum(),
        }
    got = {r["model"]: r for r in run.metrics.iter_rows(named=True)}
    for model, want in expected.items():
        for key, value in want.items():
            assert got[model][key] == pytest.approx(value), (model, key)
        assert got[model]["n_cutoffs"] == 2
    fva = expected["seasonal_naive"]["wape"] - expected["moving_average"]["wape"]
    assert got["moving_average"]["fva"] == pytest.approx(fva)
    assert got["seasonal_naive"]["fva"] == 0.0
    assert run.selection["seasonal_naive_wape"].item() == pytest.approx(expected["seasonal_naive"]["wape"])


def test_interval_bounds_are_split_conformal_order_statistics():
    from forecasting.intervals import conformal_quantiles

    r = np.full((2, 30), np.nan)
    r[0, :19] = np.arange(19.0, 0.0, -1.0)  # 19 residuals 1 .. 19, in any order, NaN-padded
    r[1, :] = np.arange(30.0)
    low, high = conformal_quantiles(r, 0.8)
    # n = 19: the floor(20 x 0.1) = 2nd and the ceil(20 x 0.9) = 18th smallest.
    assert (low[0], high[0]) == (2.0, 18.0)
    # n = 30: the 3rd and the 28th smallest (floor(3.1), ceil(27.9)) of 0 .. 29.
    assert (low[1], high[1]) == (2.0, 27.0)
