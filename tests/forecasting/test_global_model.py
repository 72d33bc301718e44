"""The global LightGBM model on a small generated panel: shape, no leakage, censoring, scale, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting import features as ft
from forecasting.global_model import GlobalSettings, global_forecasts, training_origins

H = 28
DAYS = 200
START = np.datetime64("2024-06-03")  # a Monday
AXIS = START + np.arange(DAYS + H)
WEEKLY = np.array([1.0, 1.1, 1.15, 1.1, 1.25, 0.8, 0.6])
SMALL = GlobalSettings(
    trees=40, leaves=7, min_leaf_rows=20, recent_origins=6, yearly_origins=0, threads=1, objective="l2"
)


def panel(seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """30 series: 20 smooth weekly ones of levels 1 .. 40, 10 intermittent; a few censored days; each
    starts somewhere in the first 30 days (NaN before)."""
    rng = np.random.default_rng(seed)
    dow = np.arange(DAYS) % 7
    levels = np.geomspace(1.0, 40.0, 20)
    smooth = rng.poisson(levels[:, None] * WEEKLY[dow][None, :]).astype(float)
    sparse = ((rng.random((10, DAYS)) < 0.1) * (1 + rng.poisson(2.0, (10, DAYS)))).astype(float)
    y = np.vstack([smooth, sparse])
    first = rng.integers(0, 30, len(y))
    y[np.arange(DAYS)[None, :] < first[:, None]] = np.nan
    y[rng.random(y.shape) < 0.02] = np.nan  # stockouts: demand unknown
    price = np.where(y > 0, 5.0, np.nan)
    group = np.r_[np.zeros(20, int), np.ones(10, int)]
    return y, price, first, group


def run(y, price, first, group, origins, settings=SMALL):
    return global_forecasts(
        y, price, first, np.asarray(origins), H, AXIS[: y.shape[1] + H], ["DE"] * len(y), group, settings
    )


def test_shape_finite_non_negative_and_the_level_of_each_series():
    y, price, first, group = panel()
    fc = run(y, price, first, group, [140, DAYS - 1])
    assert fc.shape == (30, 2, H)
    assert np.isfinite(fc).all() and (fc >= 0).all()
    # The forecast follows each series' own recent level, from 1 to 40 units a day.
    level = np.nanmean(y[:, DAYS - 56 :], axis=1)
    mean = fc[:, 1].mean(axis=1)
    assert np.corrcoef(level, mean)[0, 1] > 0.99
    assert mean[:20] == pytest.approx(level[:20], rel=0.25)


def test_no_leakage_the_future_after_an_origin_does_not_change_its_forecast():
    y, price, first, group = panel()
    base = run(y, price, first, group, [120, 150])
    rng = np.random.default_rng(1)
    changed, cprice = y.copy(), price.copy()
    changed[:, 121:] = rng.permutation(changed[:, 121:].ravel()).reshape(30, -1) * 3
    cprice[:, 121:] = 99.0
    other = run(changed, cprice, first, group, [120, 150])
    assert np.array_equal(base[:, 0], other[:, 0])
    assert not np.array_equal(base[:, 1], other[:, 1])  # the later origin does read those days


def test_censored_days_are_not_learnt_as_zero_demand():
    y, price, first, group = panel()
    o = DAYS - 1
    block = slice(o - 20, o + 1)  # the last three weeks before the origin
    censored, zero = y.copy(), y.copy()
    censored[15, block] = np.nan
    zero[15, block] = 0.0
    fc_c = run(censored, price, first, group, [o])[15, 0].mean()
    fc_z = run(zero, price, first, group, [o])[15, 0].mean()
    level = np.nanmean(y[15, o - 60 : o - 20])
    assert fc_c == pytest.approx(level, rel=0.3)  # a stockout holds the level it had
    assert fc_z < 0.7 * fc_c  # three weeks of zeros do pull it down


def test_a_series_ten_times_bigger_gets_a_forecast_ten_times_bigger():
    y, price, first, group = panel()
    y = np.vstack([y, 10 * y[3]])
    price, first, group = np.vstack([price, price[3]]), np.r_[first, first[3]], np.r_[group, group[3]]
    fc = run(y, price, first, group, [DAYS - 1])[:, 0]
    assert fc[-1].mean() / fc[3].mean() == pytest.approx(10.0, rel=0.2)


def test_deterministic_for_a_seed_and_tweedie_works_too():
    y, price, first, group = panel()
    a = run(y, price, first, group, [DAYS - 1])
    b = run(y, price, first, group, [DAYS - 1])
    assert np.array_equal(a, b)
    tw = GlobalSettings(**{**SMALL.__dict__, "objective": "tweedie"})
    t = run(y, price, first, group, [DAYS - 1], tw)
    assert np.isfinite(t).all() and (t >= 0).all()
    assert t[:20, 0].mean(axis=1) == pytest.approx(a[:20, 0].mean(axis=1), rel=0.3)


def test_a_series_without_observed_days_is_forecast_zero():
    y, price, first, group = panel()
    y[4, :] = np.nan
    first[4] = DAYS
    fc = run(y, price, first, group, [DAYS - 1])
    assert (fc[4] == 0).all()


def test_training_origins_only_use_targets_up_to_the_origin():
    s = GlobalSettings(recent_origins=3, stride=7, yearly_origins=3)
    t = training_origins(500, 28, s)
    assert t.tolist() == [129, 136, 143, 458, 465, 472]
    assert (t + 28 <= 500).all()
    assert training_origins(40, 28, s).tolist() == [5, 12]


def test_rmsse_scale_starts_at_the_first_demand_and_skips_censored_pairs():
    y = np.array([[np.nan, np.nan, 2.0, 4.0, np.nan, 4.0, 1.0]])
    scale = ft.rmsse_scale(y, np.array([1, 3, 6]))
    # Pairs (2, 4) and (4, 1); (4, NaN) and (NaN, 4) are left out.
    assert np.isnan(scale[0, 0])
    assert scale[0, 1:].tolist() == pytest.approx([2.0, np.sqrt((4 + 9) / 2)])


def test_calendar_knows_the_countrys_holidays_and_black_friday_week():
    axis = np.datetime64("2024-11-20") + np.arange(45)
    cal, row = ft.calendar(axis, ["US", "US"])
    assert row.tolist() == [0, 0]
    col = {name: k for k, name in enumerate(ft.LEAD[ft.LEAD.index("weekday") :])}
    day = {str(d): i for i, d in enumerate(axis)}
    thanksgiving, bf, xmas = day["2024-11-28"], day["2024-11-29"], day["2024-12-25"]
    assert cal[0, thanksgiving, col["holiday"]] > 0
    assert cal[0, thanksgiving - 3, col["days_to_holiday"]] == 3
    assert cal[0, bf, col["black_friday"]] == 0 and cal[0, bf - 4, col["black_friday"]] == -4
    assert np.isnan(cal[0, bf + 10, col["black_friday"]])
    assert cal[0, xmas, col["christmas"]] == 3 and cal[0, xmas, col["weekday"]] == 2


def test_pooled_panel_is_the_mean_of_the_observed_series_of_each_group_and_of_all():
    y = np.array(
        [
            [1.0, 2.0, np.nan, 4.0],
            [3.0, np.nan, np.nan, 8.0],
            [10.0, 10.0, np.nan, np.nan],
        ]
    )
    p = ft.panel(y, np.array([0, 0, 1]))
    np.testing.assert_array_equal(p[0], [2.0, 2.0, np.nan, 6.0])  # group 0: series 0 and 1
    np.testing.assert_array_equal(p[1], [10.0, 10.0, np.nan, np.nan])
    np.testing.assert_array_equal(p[2], [14 / 3, 6.0, np.nan, 6.0])  # every series


def test_pooled_features_by_hand_and_blind_to_the_days_after_the_origin():
    # One row of a panel: 2 a day for a year, then 4 a day for the last 28 days before the origin; the
    # same calendar weeks a year earlier doubled after a 28-day base, as a December would.
    n, t = 400, 399
    p = np.full((1, n), 2.0)
    p[0, t - 27 :] = 4.0
    last_year_origin = t - 364
    p[0, last_year_origin + 1 : last_year_origin + 1 + 40] = 4.0
    got = ft.pooled(p, t, 7)
    trend_7, trend_28, lift, weekday = (got[0, :, k] for k in range(4))
    assert trend_7 == pytest.approx(np.full(7, 1.0))  # the last 7 days / the last 28
    assert trend_28 == pytest.approx(np.full(7, 4.0 / ((84 * 2 + 28 * 4) / 112)))
    # Lead 1: days t + 1 - 364 +- 3, of which three are 2 and four are 4, over the 28 days of 2 before.
    assert lift[0] == pytest.approx((3 * 2 + 4 * 4) / 7 / 2)
    assert lift[3:] == pytest.approx(np.full(4, 2.0))
    assert weekday == pytest.approx(np.full(7, 1.0))
    later = p.copy()
    later[0, t + 1 :] = 0.0  # nothing after the origin is read
    np.testing.assert_array_equal(ft.pooled(later, t, 7), got)
