"""The real-data benchmark's metrics against hand computations, and its converters on tiny files in the
published formats (never the real files: CI does not have them)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from benchmarks.forecast_real import _sf_chunk, coverage, fill_censored, revenue_weights, rmsse, wape, weighted_mean
from benchmarks.real_data import read_items, read_rossmann

NAN = np.nan
# Series a: scale = mean(2^2, 1^2, 2^2) = 3, errors 1 and 1, RMSSE = sqrt(1 / 3).
# Series b: starts on day 2 (NaN before its first sale), scale = mean(2^2, 2^2) = 4; its second held-out
# day is censored, so only the error 2 counts: RMSSE = sqrt(4 / 4) = 1.
TRAIN = np.array([[1.0, 3.0, 2.0, 4.0], [NAN, 2.0, 0.0, 2.0]])
ACTUAL = np.array([[2.0, 4.0], [1.0, NAN]])
FORECAST = np.array([[3.0, 3.0], [3.0, 5.0]])


def test_rmsse_by_hand():
    assert rmsse(ACTUAL, FORECAST, TRAIN) == pytest.approx([np.sqrt(1 / 3), 1.0])


def test_rmsse_leaves_out_a_zero_scale_and_a_series_without_scored_days():
    train = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]])
    out = rmsse(np.array([[2.0], [NAN]]), np.array([[2.0], [3.0]]), train)
    assert np.isnan(out).all()


def test_weighted_rmsse_normalises_the_weights_over_scored_series():
    values = np.array([np.sqrt(1 / 3), 1.0, NAN])
    assert weighted_mean(values, np.array([1.0, 3.0, 100.0])) == pytest.approx((np.sqrt(1 / 3) + 3) / 4)


def test_wape_over_every_scored_day():
    # |2-3| + |4-3| + |1-3| over 2 + 4 + 1; the censored day is not scored.
    assert wape(ACTUAL, FORECAST) == pytest.approx(4 / 7)


def test_revenue_weights_carry_the_last_price_and_skip_censored_days():
    price = np.array([[1.0, 1.0, 1.0, NAN], [2.0, 2.0, 2.0, 3.0]])
    # last 2 days: a = 2 x 1 + 4 x 1 (price carried), b = 0 x 2 + 2 x 3
    assert revenue_weights(TRAIN, price, days=2) == pytest.approx([6.0, 6.0])
    assert revenue_weights(np.array([[NAN, 5.0]]), None, days=2) == pytest.approx([5.0])


def test_coverage_counts_observed_days_inside_the_interval():
    lower, upper = np.array([[1.0, 4.5], [0.0, 0.0]]), np.array([[2.0, 5.0], [1.0, 9.0]])
    assert coverage(ACTUAL, lower, upper) == pytest.approx(2 / 3)


def test_fill_censored_takes_the_same_weekday_a_week_earlier():
    y = np.array([1.0, 2, 3, 4, 5, 6, 7, NAN, 9, NAN, NAN])
    y[2] = NAN  # its week-later twin (day 9) then has nothing observed a week before: the mean
    out = fill_censored(y)
    assert out[7] == 1.0
    assert out[2] == pytest.approx(np.nanmean(y)) and out[9] == pytest.approx(np.nanmean(y))
    assert out[10] == 4.0


def test_statsforecast_fits_fall_back_on_a_series_shorter_than_a_week():
    # statsforecast's SeasonalNaive(7) returns NaN for the weekdays a 3-day series has not seen.
    week = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    out, failed = _sf_chunk("SeasonalNaive", [week, np.array([1.0, 2.0, 6.0])], 9)
    assert failed == 1
    assert out[0].tolist() == [2.0, 3, 4, 5, 6, 7, 8, 2, 3]
    assert out[1].tolist() == [3.0] * 9


def test_m5_items_converter(tmp_path):
    # Two items of one store; nothing sold in the whole store on d_1 and d_3 (a closure), item B never.
    (tmp_path / "m5_CA1_items_sales_d1-702.csv").write_text(
        "id,item_id,dept_id,cat_id,store_id,state_id,d_1,d_2,d_3,d_4\n"
        "A_CA_1,A,FOODS_1,FOODS,CA_1,CA,0,2,0,1\n"
        "B_CA_1,B,FOODS_2,FOODS,CA_1,CA,0,0,0,0\n"
    )
    (tmp_path / "m5_calendar.csv").write_text(
        "date,wm_yr_wk,weekday,d\n2011-01-29,11101,Saturday,d_1\n2011-01-30,11101,Sunday,d_2\n"
        "2011-01-31,11102,Monday,d_3\n2011-02-01,11102,Tuesday,d_4\n"
    )
    (tmp_path / "m5_CA1_items_prices_to_d702.csv").write_text(
        "store_id,item_id,wm_yr_wk,sell_price\nCA_1,A,11101,2.0\nCA_1,A,11102,2.5\n"
    )
    h = read_items(tmp_path)
    assert h.columns == ["sku", "warehouse_id", "date", "y", "is_censored", "price", "country", "category"]
    assert h.to_dicts() == [
        dict(
            sku="A",
            warehouse_id="CA_1",
            date=date(2011, 1, 30),
            y=2.0,
            is_censored=False,
            price=2.0,
            country="US",
            category="FOODS_1",
        ),
        dict(
            sku="A",
            warehouse_id="CA_1",
            date=date(2011, 1, 31),
            y=None,
            is_censored=True,
            price=2.5,
            country="US",
            category="FOODS_1",
        ),
        dict(
            sku="A",
            warehouse_id="CA_1",
            date=date(2011, 2, 1),
            y=1.0,
            is_censored=False,
            price=2.5,
            country="US",
            category="FOODS_1",
        ),
    ]


def test_rossmann_converter_censors_closed_and_missing_days(tmp_path):
    (tmp_path / "rossmann_train.csv").write_text(
        "Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,SchoolHoliday\n"
        "1,5,2015-07-04,50,9,1,0,0,0\n1,4,2015-07-02,100,10,1,0,0,0\n1,3,2015-07-01,0,0,0,0,0,0\n"
        "1,6,2015-07-05,0,0,0,0,0,0\n"
    )
    h = read_rossmann(tmp_path)
    assert h["date"].to_list() == [date(2015, 7, d) for d in (2, 3, 4, 5)]
    assert h["y"].to_list() == [100.0, None, 50.0, None]
    assert h["is_censored"].to_list() == [False, True, False, True]
    assert h.select(pl.col("sku").unique(), pl.col("country").unique()).row(0) == ("1", "DE")
