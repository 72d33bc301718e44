"""The Make benchmark's helpers (benchmarks/make.py) against hand computations."""

from __future__ import annotations

import pytest

from benchmarks.make import Run, grouped, model_seconds, ratio, run_order, slowest_models, step_group


def test_runs_alternate_trader_and_manufacturer():
    assert run_order(1) == ["trader", "manufacturer"]
    assert run_order(2) == ["trader", "manufacturer", "trader", "manufacturer"]


@pytest.mark.parametrize(
    ("step", "group"),
    [
        ("raw__orders", "ingest"),
        ("raw__work_orders_contract_expectations", "ingest checks"),
        ("raw__orders_freshness", "ingest checks"),
        ("warehouse_models", "dbt"),
        ("planning_models", "dbt"),
        ("demand_forecast", "forecast"),
        ("serve__snapshot", "snapshot"),
        ("something_new", "other"),
    ],
)
def test_step_groups(step, group):
    assert step_group(step) == group


def test_grouped_sums_each_group_and_keeps_the_time_outside_steps():
    steps = {
        "raw__orders": 2.0,
        "raw__returns": 1.0,
        "raw__orders_freshness": 0.5,
        "warehouse_models": 10.0,
        "planning_models": 4.0,
    }
    # 2 + 1 ingest, 0.5 its checks, 10 + 4 dbt; 20 - 17.5 outside any step
    assert grouped(steps, 20.0) == {"ingest": 3.0, "ingest checks": 0.5, "dbt": 14.0, "outside steps": 2.5}


def test_model_seconds_reads_only_models_with_a_duration():
    metadata = {"marts/a": {"Execution Duration": 1.5, "rows": 3}, "raw/orders": {"rows_loaded": 10}}
    assert model_seconds(metadata) == {"marts/a": 1.5}


def test_slowest_models_lists_the_manufacturers_longest_with_the_traders_time():
    make = {"a": 1.0, "b": 5.0, "c": 3.0}
    trade = {"a": 0.5, "b": 2.0}
    assert slowest_models(make, trade, 2) == [("b", 5.0, 2.0), ("c", 3.0, 0.0)]


def test_ratio_of_medians():
    runs = {
        "trader": [Run(10.0, 1.0), Run(30.0, 1.0), Run(20.0, 1.0)],
        "manufacturer": [Run(26.0, 1.0), Run(24.0, 1.0)],
    }
    # medians 20 and 25
    assert ratio(runs) == pytest.approx(1.25)
