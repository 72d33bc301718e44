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


def _backtest(yhat: float, skus: tuple[str, ...] = ("A", "B")) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "sku": s,
                "warehouse_id": "W1",
                "backtest_cutoff": date(2025, 6, 1),
                "forecast_date": date(2025, 6, d),
                "model": model,
                "yhat": yhat,
                "actual": None if d == 3 else 2.0,  # day 3 censored
            }
            for s in skus
            for model in ("moving_average", "seasonal_naive")
            for d in (2, 3)
        ],
        schema=store.BACKTEST_SCHEMA,
    )


def _lead_time_errors() -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"demand_class": c, "lead_days": n, "probability": p, "relative_error": e, "level_floor": 0.1}
            for c, e in (("smooth", 0.2), ("lumpy", 1.5))
            for n in (1, 7)
            for p in (0.5, 0.95)
        ],
        schema=store.LEAD_TIME_ERROR_SCHEMA,
    )


def _new_run(yhat: float, skus: tuple[str, ...] = ("A", "B")) -> ForecastRun:
    """A run as the rebuilt forecasting hands it over: backtest rows, lead-time errors, the new columns."""
    run = _run(yhat, skus)
    run.metrics = run.metrics.with_columns(rmsse=pl.lit(0.8), lead_time_error=pl.lit(-0.1))
    run.selection = run.selection.with_columns(demand_class=pl.lit("smooth"), reason=pl.lit("lowest WAPE"))
    run.backtest = _backtest(yhat, skus)
    run.lead_time_errors = _lead_time_errors()
    return run


def test_runs_are_kept_and_a_rewritten_run_replaces_only_itself(con):
    store.write_run(con, _run(1.0), "r1", CUTOFF, "all", datetime(2025, 6, 30, 6))
    written = store.write_run(con, _run(2.0, ("A",)), "r2", CUTOFF, "Tools", datetime(2025, 6, 30, 7))
    assert written == {
        "runs": 1,
        "forecasts": 2,
        "backtest_metrics": 1,
        "model_selection": 1,
        "backtest_forecasts": 0,
        "lead_time_errors": 0,
    }
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


def test_the_backtest_and_lead_time_errors_are_written_and_replaced_with_their_run(con):
    written = store.write_run(con, _new_run(1.0), "r1", CUTOFF, "all", datetime(2025, 6, 30, 6))
    assert (written["backtest_forecasts"], written["lead_time_errors"]) == (8, 8)
    store.write_run(con, _new_run(2.0, ("A",)), "r2", CUTOFF, "Tools", datetime(2025, 6, 30, 7))
    store.write_run(con, _new_run(3.0, ("A",)), "r2", CUTOFF, "Tools", datetime(2025, 6, 30, 8))  # a retry
    rows = con.sql(
        "select run_id, cutoff_date, sku, count(*), sum(yhat), count(actual) from forecast.backtest_forecasts "
        "group by all order by all"
    ).fetchall()
    assert rows == [("r1", CUTOFF, "A", 4, 4.0, 2), ("r1", CUTOFF, "B", 4, 4.0, 2), ("r2", CUTOFF, "A", 4, 12.0, 2)]
    errors = con.sql(
        "select run_id, lead_days, relative_error from forecast.lead_time_errors "
        "where demand_class = 'lumpy' and probability = 0.95 order by all"
    ).fetchall()
    assert errors == [("r1", 1, 1.5), ("r1", 7, 1.5), ("r2", 1, 1.5), ("r2", 7, 1.5)]
    selection = con.sql("select distinct demand_class, reason from forecast.model_selection").fetchall()
    assert selection == [("smooth", "lowest WAPE")]
    metrics = con.sql("select distinct rmsse, lead_time_error from forecast.backtest_metrics").fetchall()
    assert metrics == [(0.8, -0.1)]


def test_a_run_without_the_new_frames_and_columns_writes_them_empty_and_null(con):
    store.write_run(con, _new_run(1.0), "r1", CUTOFF, "all", datetime(2025, 6, 30, 6))
    store.write_run(con, _run(2.0), "r2", CUTOFF, "all", datetime(2025, 6, 30, 7))  # older forecasting code
    counts = con.sql("select run_id, count(*) from forecast.backtest_forecasts group by all").fetchall()
    assert counts == [("r1", 8)]
    selection = con.sql(
        "select run_id, count(demand_class), count(reason), count(*) from forecast.model_selection "
        "group by all order by all"
    ).fetchall()
    assert selection == [("r1", 2, 2, 2), ("r2", 0, 0, 2)]
    assert con.sql("select count(rmsse) from forecast.backtest_metrics where run_id = 'r2'").fetchall() == [(0,)]


def test_an_older_warehouse_gets_the_new_tables_and_columns(con):
    old = {
        "backtest_metrics": {**store.RUN_KEYS, **METRIC_SCHEMA},
        "model_selection": {**store.RUN_KEYS, **SELECTION_SCHEMA},
    }
    con.execute("create schema forecast")
    for table, schema in old.items():
        columns = ", ".join(
            f"{n} {store.sql_type(t)}" for n, t in schema.items() if n not in store.ADDED_COLUMNS[table]
        )
        con.execute(f"create table forecast.{table} ({columns})")
    con.execute("insert into forecast.model_selection (run_id, sku, model) values ('r0', 'A', 'tsb')")
    store.write_run(con, _new_run(1.0), "r1", CUTOFF, "all", datetime(2025, 6, 30, 6))
    rows = con.sql("select run_id, demand_class from forecast.model_selection order by all").fetchall()
    assert rows == [("r0", None), ("r1", "smooth"), ("r1", "smooth")]
    for table, schema in store.TABLES.items():
        cols = con.sql(
            f"select column_name from information_schema.columns where table_schema = 'forecast' "
            f"and table_name = '{table}'"
        ).fetchall()
        assert {c[0] for c in cols} == set(schema), table
