"""The executors: in-process, process pool and a Dask cluster give the same run."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import AS_OF
from polars.testing import assert_frame_equal

from forecasting import ForecastConfig, ForecastRun, run_forecast


def same(a: ForecastRun, b: ForecastRun) -> None:
    assert_frame_equal(a.forecasts, b.forecasts)
    assert_frame_equal(a.metrics, b.metrics)
    assert_frame_equal(a.selection, b.selection)


@pytest.fixture(scope="module")
def pool_run(history: pl.DataFrame) -> ForecastRun:
    # batch_size=1: six tasks over two processes, so the pool really interleaves them (a catalogue this
    # small would otherwise run in this process).
    return run_forecast(history, ForecastConfig(workers=2, batch_size=1, min_series_per_worker=1), as_of=AS_OF)


def test_process_pool_equals_in_process(history, pool_run):
    assert pool_run.params["executor"] == "process_pool"
    same(pool_run, run_forecast(history, ForecastConfig(workers=1, batch_size=4), as_of=AS_OF))


def test_dask_cluster_equals_process_pool(history, pool_run):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        cfg = ForecastConfig(workers=2, batch_size=2, dask_scheduler=cluster.scheduler_address)
        progress = []
        run = run_forecast(history, cfg, as_of=AS_OF, progress=lambda d, t: progress.append((d, t)))
    assert run.params["executor"] == "dask"
    assert progress[0] == (0, 6) and progress[-1] == (6, 6) and len(progress) == 4
    same(run, pool_run)
