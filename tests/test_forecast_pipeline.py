"""Forecasting inside the pipeline: `scm run` (the real command, in its own process) forecasts every
series quietly with a progress bar, writes the run back, and the planning marts read it; a Dagster run of
one category partition adds a run of its own without touching the earlier one. The run is the session's
`built_world` (tests/conftest.py)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from forecasting import store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(built_world) -> Path:
    return built_world.data_dir


@pytest.fixture(scope="module")
def scm_run(built_world):
    return built_world.run


def query(data_dir: Path, sql: str, **params) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql, params=params or None).fetchall()


def test_run_is_quiet_and_shows_forecast_progress(scm_run):
    assert scm_run.returncode == 0, scm_run.stderr[-3000:]
    output = scm_run.stdout + scm_run.stderr
    for noise in ("cmdstanpy", "Chain [", "Importing plotly", "Optimization terminated"):
        assert noise not in output
    assert "forecast [" in scm_run.stderr and "(100%)" in scm_run.stderr
    assert "built: " in scm_run.stdout and f"{len(store.TABLES)} forecast" in scm_run.stdout


def test_forecast_is_written_back_and_every_model_family_took_part(scm_run, data_dir):
    runs = query(data_dir, "select run_id, scope, n_series, params from forecast.runs")
    assert len(runs) == 1 and runs[0][1] == "all" and runs[0][2] > 0
    # The world's history is shorter than the two years Prophet is fitted from (forecasting/config.py);
    # the numpy baselines, statsforecast's models, the global model and the ensemble all ran.
    per_model = dict(query(data_dir, "select model, count(*) from forecast.backtest_metrics group by 1"))
    assert {"seasonal_naive", "imapa", "tsb", "lightgbm", "ensemble"} <= set(per_model), per_model
    assert "prophet" not in per_model and json.loads(runs[0][3])["n_series_prophet"] == 0
    (series, with_reason) = query(data_dir, "select count(*), count(reason) from forecast.model_selection")[0]
    assert series == with_reason == runs[0][2]


def test_demand_forecast_mart_starts_the_day_after_the_as_of_date(scm_run, data_dir):
    (as_of,) = query(data_dir, "select as_of_date from intermediate.int_as_of_date")[0]
    first, last, selected_per_day, bad_bounds = query(
        data_dir,
        """
        select min(forecast_date), max(forecast_date),
               max(n_selected), sum((yhat_lower > yhat or yhat > yhat_upper)::int)
        from marts.demand_forecast
        join (select sku, warehouse_id, forecast_date, count(*) filter (where is_selected) as n_selected
              from marts.demand_forecast group by all) using (sku, warehouse_id, forecast_date)
    """,
    )[0]
    assert first == as_of + timedelta(days=1) and last == as_of + timedelta(days=28)
    assert selected_per_day == 1 and bad_bounds == 0
    (series,) = query(data_dir, "select count(distinct (sku, warehouse_id)) from marts.demand_forecast")[0]
    assert series == query(data_dir, "select n_series from forecast.runs")[0][0]


def test_replenishment_uses_the_forecast(scm_run, data_dir):
    rows = query(data_dir, "select count(*), count(*) filter (where has_forecast) from marts.replenishment")[0]
    assert rows[0] > 0 and rows[1] > 0


def test_the_full_run_shows_every_category_partition_as_materialised(built_world, data_dir):
    """The full run is unpartitioned, yet it forecast every category: its Dagster instance (the one
    `dagster dev` shows) records each category partition of each forecast table as materialised."""
    import dagster as dg

    from pipelines.assets.forecast import FORECAST_KEYS

    sold = "select distinct category from marts.fct_order_lines join marts.dim_product using (product_key)"
    categories = {c for (c,) in query(data_dir, sold)}
    assert len(categories) > 1
    instance = dg.DagsterInstance.from_config(str(data_dir / "dagster_home"))
    try:
        assert set(instance.get_dynamic_partitions("forecast_category")) == categories
        for key in FORECAST_KEYS:
            assert instance.get_materialized_partitions(key) == categories, key
    finally:
        instance.dispose()


def test_one_category_partition_adds_a_run_and_keeps_the_first(world_copy):
    import dagster as dg

    from pipelines.definitions import defs

    data_dir = world_copy.data_dir
    instance = dg.DagsterInstance.get()
    categories = instance.get_dynamic_partitions("forecast_category")
    assert categories, "the full run registers the categories as partitions"
    category = categories[0]
    result = defs.resolve_job_def("forecast").execute_in_process(
        partition_key=category,
        instance=instance,
        run_config={"ops": {"demand_forecast": {"config": {"workers": 1}}}},
    )
    assert result.success
    runs = dict(query(data_dir, "select scope, run_id from forecast.runs"))
    assert set(runs) == {"all", category}
    in_category = "sku in (select sku from marts.dim_product where category = $c)"
    by_run = dict(
        query(
            data_dir, f"select {in_category}, list(distinct run_id) from marts.demand_forecast group by 1", c=category
        )
    )
    assert by_run[True] == [runs[category]]  # the category's series come from its own newer run
    assert by_run[False] == [runs["all"]]  # the rest still from the full run, which is kept
    (kept,) = query(data_dir, "select count(*) from forecast.forecasts where run_id = $r", r=runs["all"])[0]
    assert kept > 0
