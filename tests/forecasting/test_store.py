"""Write-back to the `forecast` schema: every run is kept, a re-written run replaces only itself."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl
import pytest

from forecasting import ForecastRun, store
from forecasting.run import FORECAST_SCHEMA, METRIC_SCHEMA, SELECTION_SCHEMA

CUTOFF = date(2025, 6, 29)


def _run(yhat: float, skus: tuple[str, ...] = ("A", "B")) -> ForecastRun:
    forecasts = pl.DataFrame(
        [
            {
                "sku": s,
                "warehouse_id": "W1",
                "forecast_date": date(2025, 7, d),
                "model": "moving_average",
                "yhat": yhat,
                "yhat_lower": 0.0,
                "yhat_upper": 2 * yhat,
                "is_selected": True,
            }
            for s in skus
            for d in (1, 2)
        ],
        schema=FORECAST_SCHEMA,
    )
    metrics = pl.DataFrame(
        [
            {
                "sku": s,
                "warehouse_id": "W1",
                "model": "moving_average",
                "wape": 0.5,
                "bias": 0.1,
                "mase": 0.9,
                "n_cutoffs": 3,
                "actual_total": 40.0,
                "fva": 0.2,
                "error_sd": 1.5,
                "recent_wape": 0.6,
            }
            for s in skus
        ],
        schema=METRIC_SCHEMA,
    )
    selection = pl.DataFrame(
        [
            {
                "sku": s,
                "warehouse_id": "W1",
                "model": "moving_average",
                "wape": 0.5,
                "seasonal_naive_wape": 0.7,
                "demand_sd": 2.0,
            }
            for s in skus
        ],
        schema=SELECTION_SCHEMA,
    )
    return ForecastRun(forecasts=forecasts, metrics=metrics, selection=selection, params={"seconds": 1.0})


@pytest.fixture
def con():
    with duckdb.connect() as c:
        yield c


def test_runs_are_kept_and_a_rewritten_run_replaces_only_itself(con):
    store.write_run(con, _run(1.0), "r1", CUTOFF, "all", datetime(2025, 6, 30, 6))
    written = store.write_run(con, _run(2.0, ("A",)), "r2", CUTOFF, "Tools", datetime(2025, 6, 30, 7))
    assert written == {"runs": 1, "forecasts": 2, "backtest_metrics": 1, "model_selection": 1}
    store.write_run(con, _run(3.0, ("A",)), "r2", CUTOFF, "Tools", datetime(2025, 6, 30, 8))  # a retry
    rows = con.sql("select run_id, sku, sum(yhat) from forecast.forecasts group by all order by all").fetchall()
    assert rows == [("r1", "A", 2.0), ("r1", "B", 2.0), ("r2", "A", 6.0)]
    runs = con.sql("select run_id, cutoff_date, scope, n_series from forecast.runs order by run_id").fetchall()
    assert runs == [("r1", CUTOFF, "all", 2), ("r2", CUTOFF, "Tools", 1)]
    assert con.sql("select count(*) from forecast.model_selection").fetchall()[0][0] == 3


def test_a_failed_write_leaves_the_earlier_runs(con):
    store.write_run(con, _run(1.0), "r1", CUTOFF, "all", datetime(2025, 6, 30, 6))
    broken = _run(2.0)
    broken.selection = broken.selection.drop("demand_sd")  # a column short: the insert fails
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        store.write_run(con, broken, "r1", CUTOFF, "all", datetime(2025, 6, 30, 7))
    assert con.sql("select count(*), sum(yhat) from forecast.forecasts").fetchall()[0] == (4, 4.0)


def test_tables_match_their_declared_columns(con):
    store.ensure_tables(con)
    for table, schema in store.TABLES.items():
        cols = con.sql(
            f"select column_name from information_schema.columns where table_schema = 'forecast' "
            f"and table_name = '{table}' order by ordinal_position"
        ).fetchall()
        assert [c[0] for c in cols] == list(schema)
