"""The numpy baselines: vectorised over series, and censored (NaN) days are skipped, never read as 0."""

from __future__ import annotations

import numpy as np

from forecasting.baselines import moving_average, seasonal_naive

NAN = np.nan


def test_seasonal_naive_repeats_last_week_and_looks_back_over_censored_days():
    week1 = [1.0, 2, 3, 4, 5, 6, 7]
    week2 = [10.0, 20, NAN, 40, 50, 60, NAN]
    y = np.array([week1 + week2, [0.0] * 14])
    fc = seasonal_naive(y, 9)
    assert fc[0].tolist() == [10, 20, 3, 40, 50, 60, 7, 10, 20]
    assert fc[1].tolist() == [0.0] * 9


def test_seasonal_naive_with_no_observed_weekday_uses_the_mean():
    y = np.array([[NAN] * 6 + [4.0] + [NAN] * 6 + [2.0]])
    assert seasonal_naive(y, 7, lookback_weeks=2)[0].tolist() == [3.0] * 6 + [2.0]


def test_moving_average_skips_censored_days():
    y = np.array([[100.0, 1, NAN, 3], [NAN, NAN, NAN, NAN], [5.0, NAN, NAN, NAN]])
    fc = moving_average(y, 2, window=3)
    assert fc[0].tolist() == [2.0, 2.0]
    assert fc[1].tolist() == [0.0, 0.0]  # nothing observed at all
    assert fc[2].tolist() == [5.0, 5.0]  # window all censored: mean of the whole history


def test_baselines_are_vectorised_over_series():
    rng = np.random.default_rng(0)
    y = rng.poisson(4.0, (50, 120)).astype(float)
    one_by_one = np.vstack([seasonal_naive(y[i : i + 1], 28) for i in range(50)])
    assert np.array_equal(seasonal_naive(y, 28), one_by_one)
    assert np.array_equal(moving_average(y, 28), np.vstack([moving_average(y[i : i + 1], 28) for i in range(50)]))
