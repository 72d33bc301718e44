"""statsforecast candidates: forecasts at every origin from the days up to it only, censored days neither
demand nor zero, the AutoETS / AutoTheta form searched once per series, failed fits falling back."""

from __future__ import annotations

import numpy as np
import pytest
from statsforecast.models import AutoETS, AutoTheta

from forecasting.statistical import STAT_MODELS, forecast_origins, impute_censored, search_ets

NAN = np.nan
DAYS = 200
H = 14
ORIGINS = np.array([139, 169, 199])
WEEKLY = np.array([1.0, 1.1, 1.15, 1.1, 1.25, 0.8, 0.6])


def _panel() -> tuple[np.ndarray, np.ndarray]:
    """Smooth weekly, intermittent, all zeros, and a smooth one starting late (too short at the first origin)."""
    rng = np.random.default_rng(5)
    t = np.arange(DAYS)
    smooth = rng.poisson(12 * WEEKLY[t % 7]).astype(float)
    smooth[rng.random(DAYS) < 0.05] = NAN  # scattered stockouts
    sparse = ((rng.random(DAYS) < 0.15) * (1 + rng.poisson(2.0, DAYS))).astype(float)
    sparse[150:160] = NAN
    late = rng.poisson(6 * WEEKLY[t % 7]).astype(float)
    late[:130] = NAN
    y = np.vstack([smooth, sparse, np.zeros(DAYS), late])
    return y, np.array([0, 0, 0, 130])


@pytest.fixture(scope="module")
def panel() -> tuple[np.ndarray, np.ndarray]:
    return _panel()


@pytest.mark.parametrize("name", STAT_MODELS)
def test_every_model_forecasts_each_origin(panel, name):
    y, first = panel
    fc = forecast_origins(name, y, first, ORIGINS, H, np.array([True, True, True, True]))
    assert fc.shape == (4, 3, H)
    assert np.isfinite(fc[:3]).all() and (fc[:3] >= 0).all()
    assert fc[0].mean() == pytest.approx(12 * WEEKLY.mean(), rel=0.25)
    assert 0 < fc[1].mean() < 2
    assert (fc[2] == 0).all()  # history of zeros: 0, whatever the model
    # 10 observed days by the first origin (< 2 weeks): no forecast there, then forecasts.
    assert np.isnan(fc[3, 0]).all() and np.isfinite(fc[3, 1:]).all()


@pytest.mark.parametrize("name", STAT_MODELS)
def test_series_not_fitted_are_nan(panel, name):
    y, first = panel
    fc = forecast_origins(name, y, first, ORIGINS, H, np.array([True, False, False, True]))
    assert np.isnan(fc[1:3]).all()
    assert np.isfinite(fc[0]).all()


@pytest.mark.parametrize("name", STAT_MODELS)
def test_no_leakage_from_days_after_an_origin(panel, name):
    y, first = panel
    fit = np.ones(4, bool)
    later = y.copy()
    later[:, ORIGINS[0] + 1 :] *= 5
    a = forecast_origins(name, y, first, ORIGINS, H, fit)
    b = forecast_origins(name, later, first, ORIGINS, H, fit)
    assert np.array_equal(a[:, 0], b[:, 0], equal_nan=True)
    assert not np.allclose(a[0, -1], b[0, -1])


@pytest.mark.parametrize("name", STAT_MODELS)
def test_only_the_last_max_train_days_count(panel, name):
    y, first = panel
    fit = np.ones(4, bool)
    older = y.copy()
    older[:, :100] = 3 * np.nan_to_num(older[:, :100]) + 1
    a = forecast_origins(name, y, first, ORIGINS[-1:], H, fit, max_train_days=100)
    b = forecast_origins(name, older, first, ORIGINS[-1:], H, fit, max_train_days=100)
    assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("name", STAT_MODELS)
def test_censored_days_are_not_read_as_zero(name):
    rng = np.random.default_rng(8)
    t = np.arange(DAYS)
    y = rng.poisson(10 * WEEKLY[t % 7]).astype(float)
    stockout = np.zeros(DAYS, bool)
    stockout[DAYS - 60 : DAYS - 1] = rng.random(59) < 0.6  # most of the last two months out of stock
    censored = np.where(stockout, NAN, y)[None, :]
    zeros = np.where(stockout, 0.0, y)[None, :]
    args = (np.array([0]), np.array([DAYS - 1]), H, np.array([True]))
    with_nan = forecast_origins(name, censored, *args)[0, 0].mean()
    with_zeros = forecast_origins(name, zeros, *args)[0, 0].mean()
    assert with_nan == pytest.approx(10 * WEEKLY.mean(), rel=0.15)
    assert with_zeros < 0.85 * with_nan


def test_impute_censored_uses_the_same_weekday_of_previous_weeks():
    x = np.arange(35.0)
    x[[30, 33, 34]] = NAN
    x[[27, 20]] = NAN  # day 34's weekday: only days 13 and 6 of the previous four weeks remain
    out = impute_censored(x, 7)
    assert out[30] == pytest.approx(np.mean([23, 16, 9, 2]))
    assert out[34] == pytest.approx(np.mean([13, 6]))
    assert np.array_equal(out[~np.isnan(x)], x[~np.isnan(x)])
    head = np.array([NAN, 2.0, 4.0] + [NAN] * 5)  # no earlier week at all: the mean of the observed days
    assert impute_censored(head, 7).tolist() == [3.0, 2, 4, 3, 3, 3, 3, 3]


def _window(y: np.ndarray, origin: int) -> np.ndarray:
    return impute_censored(y[: origin + 1], 7)


def test_auto_ets_searches_the_form_once_and_refits_it_at_later_origins(panel):
    y, first = panel
    fc = forecast_origins("auto_ets", y[:1], first[:1], ORIGINS, H, np.array([True]))
    searched = search_ets(_window(y[0], ORIGINS[0]), 7)
    assert fc[0, 0] == pytest.approx(np.maximum(searched.predict(h=H)["mean"], 0))
    form = searched.model_["components"]
    fixed = AutoETS(season_length=7, model=form[:3], damped=form[3] == "D")
    for j in (1, 2):
        assert fc[0, j] == pytest.approx(np.maximum(fixed.forecast(y=_window(y[0], ORIGINS[j]), h=H)["mean"], 0))


def test_search_ets_finds_what_the_exhaustive_search_finds():
    rng = np.random.default_rng(2)
    t = np.arange(DAYS)
    weekly = rng.poisson(12 * WEEKLY[t % 7]).astype(float)
    trended = rng.poisson((5 + 0.1 * t) * WEEKLY[t % 7]).astype(float)
    for x in (weekly, trended):
        assert search_ets(x, 7).model_["components"] == AutoETS(season_length=7).fit(x).model_["components"]
    assert search_ets(trended, 7).model_["components"][1] == "A"
    # The damped stage: a trend that flattens out.
    flattening = 40 - 35 * np.exp(-t / 30) + rng.normal(0, 0.5, DAYS)
    assert (
        search_ets(flattening, 7).model_["components"] == AutoETS(season_length=7).fit(flattening).model_["components"]
    )
    assert search_ets(flattening, 7).model_["components"][3] == "D"


def test_auto_theta_searches_the_variant_once_and_refits_it_at_later_origins(panel):
    y, first = panel
    fc = forecast_origins("auto_theta", y[:1], first[:1], ORIGINS, H, np.array([True]))
    variant = AutoTheta(season_length=7).fit(_window(y[0], ORIGINS[0])).model_["modeltype"]
    for j in (1, 2):
        direct = AutoTheta(season_length=7, model=variant).forecast(y=_window(y[0], ORIGINS[j]), h=H)["mean"]
        assert fc[0, j] == pytest.approx(np.maximum(direct, 0))


def test_a_failed_fit_falls_back_to_the_recent_mean(panel, monkeypatch):
    class Broken:
        def forecast(self, y, h):
            raise ValueError("degenerate")

    import statsforecast.models

    monkeypatch.setattr(statsforecast.models, "CrostonSBA", Broken)
    y, first = panel
    fc = forecast_origins("croston_sba", y[:2], first[:2], ORIGINS, H, np.array([True, True]))
    for i in range(2):
        for j, o in enumerate(ORIGINS):
            observed = y[i, : o + 1][~np.isnan(y[i, : o + 1])]
            assert (fc[i, j] == observed[-28:].mean()).all()


def test_unknown_model_is_refused(panel):
    y, first = panel
    with pytest.raises(ValueError, match="unknown statistical model"):
        forecast_origins("arima", y, first, ORIGINS, H, np.ones(4, bool))
