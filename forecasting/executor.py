"""Where the batches run: in this process, in a local process pool, or on a Dask cluster.

All three take the same function and the same batches and hand results back as they complete, so a run
gives the same numbers on any of them (each batch is computed independently and deterministically).
At most `2 x workers` batches are in flight at a time, so memory stays bounded for any catalogue size.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from itertools import islice

from .backtest import Batch, BatchResult, Context, forecast_batch
from .config import ForecastConfig
from .stan import quiet_logs


def _run(batch: Batch, ctx: Context) -> BatchResult:
    with quiet_logs():
        return forecast_batch(batch, ctx)


def run_batches(batches: Iterable[Batch], ctx: Context, cfg: ForecastConfig) -> Iterator[BatchResult]:
    """Results in completion order."""
    if cfg.dask_scheduler:
        yield from _dask(batches, ctx, cfg.dask_scheduler)
    elif cfg.workers <= 1:
        for batch in batches:
            yield _run(batch, ctx)
    else:
        yield from _pool(batches, ctx, cfg.workers)


def _pool(batches: Iterable[Batch], ctx: Context, workers: int) -> Iterator[BatchResult]:
    # spawn, not fork: the parent holds polars' thread pool, and forking a threaded process can hang.
    # (So a script that calls run_forecast needs the usual `if __name__ == "__main__":` guard.)
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        it = iter(batches)
        pending = {pool.submit(_run, b, ctx) for b in islice(it, 2 * workers)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
            pending |= {pool.submit(_run, b, ctx) for b in islice(it, len(done))}


def _dask(batches: Iterable[Batch], ctx: Context, address: str) -> Iterator[BatchResult]:
    from distributed import Client, as_completed

    with Client(address, set_as_default=False) as client:
        limit = 2 * max(1, sum(client.nthreads().values()))
        shared = client.scatter(ctx, broadcast=True)  # once per worker, not once per batch
        # pure=False: two batches are never the same task, even if their contents happen to match.
        it = iter(batches)
        pending = as_completed(
            [client.submit(_run, b, shared, pure=False) for b in islice(it, limit)], loop=client.loop
        )
        for future in pending:
            yield future.result()
            for b in islice(it, 1):
                pending.add(client.submit(_run, b, shared, pure=False))
