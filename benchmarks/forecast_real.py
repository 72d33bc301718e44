"""Forecast accuracy on real demand data: `run_forecast` against statsforecast's standard models, same run.

    .venv/bin/python benchmarks/forecast_real.py --set items --set store [--workers 2] [--data DIR]
    .venv/bin/python benchmarks/forecast_real.py --set items --quick        # 100 series, a minute or two
    .venv/bin/python benchmarks/forecast_real.py --set rossmann --limit 200 --cfg cutoffs=2

Sets (benchmarks/real_data.py converts them to the history frame; README.md of the data folder):
- items: Walmart M5, 2,000 items of store CA_1, d_1..d_702; the last 28 days (d_675..d_702) held out.
  Series with no sale up to the as-of date d_674 are dropped.
- store: M5's 63 store x department series, trained to d_1913, scored on d_1914..d_1941 (M5's window).
- rossmann: 1,115 drugstores, the last 28 days held out; closed days are censored and not scored.
A day a whole store sold nothing (M5: Christmas) is a closure: censored, not scored, as Rossmann's.

Methods, each on the same training days: the project's selection (`is_selected` of `run_forecast`), every
model in the run's forecasts table, and statsforecast's SeasonalNaive(7), AutoETS(7), AutoTheta(7) and
IMAPA, fitted with the array API in a spawn process pool of `--workers` processes (the project's pool
has the same size and start method). statsforecast needs a series without gaps: a censored training
day takes the value of the same weekday one week earlier (further back if that one is censored too;
the series' observed mean where there is none); a fit that raises falls back to the seasonal naive
forecast of that series (its mean if shorter than a week), as does one that returns NaN (shorter than
a season), and the row says how many did.

Metrics over the held-out days, observed (not censored) days only:
- RMSSE (M5): per series sqrt(mean (actual - forecast)^2 / mean (y_t - y_(t-1))^2 over the training days
  from the first sale, pairs with a censored day left out); series with a zero scale are left out.
- weighted RMSSE: weights = revenue (units x price) over the last 28 training days, normalised over the
  series a method is scored on; units alone where the set has no prices (store, rossmann).
- WAPE = sum |actual - forecast| / sum actual over every scored day of every series.
- seconds: the project's whole `run_forecast` (backtest, selection, intervals, pool start); each
  statsforecast model alone in a warm pool, whose start (spawn and import) is printed once and added to
  AutoETS's seconds for the speed bar, as the project's own pool start is in its seconds.

The table ends with an oracle that is not a method: each series' mean over its held-out days as a flat
forecast. Its ratios to the best statsforecast model show how far below that model any forecast of the
level can go on the set.

Bars: selected mean RMSSE / best of AutoETS, AutoTheta, IMAPA <= 0.97; the same for weighted RMSSE
<= 0.95; project seconds / (AutoETS + pool start) seconds <= 1 (the ratio to AutoETS alone is printed
too); 80% interval coverage of the selection 75-85%.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.memory import TreeMemory  # noqa: E402  (after the path is set)

HORIZON, SEASON, WEIGHT_DAYS = 28, 7, 28
RMSSE_BAR, WRMSSE_BAR, SECONDS_BAR, COVERAGE_BAR = 0.97, 0.95, 1.0, (0.75, 0.85)
SF_MODELS = ("SeasonalNaive", "AutoETS", "AutoTheta", "IMAPA")
SF_REFERENCE = ("AutoETS", "AutoTheta", "IMAPA")  # "best statsforecast model" of the bars


# --- metrics: pure functions on (n_series, days) arrays, NaN = not observed / not scored ---------------


def rmsse_scale(train: np.ndarray) -> np.ndarray:
    """Per series mean (y_t - y_(t-1))^2 over the training days (NaN before the first sale and on censored
    days: pairs with a NaN side are left out); NaN where no pair is observed."""
    sq = np.diff(train, axis=1) ** 2
    seen = ~np.isnan(sq)
    n = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.where(seen, sq, 0.0).sum(axis=1) / np.maximum(n, 1), np.nan)


def rmsse(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Per series RMSSE over the days where both actual and forecast are present; NaN where the scale is
    zero or undefined, or no day is scored."""
    scale = rmsse_scale(train)
    scored = ~np.isnan(actual) & ~np.isnan(forecast)
    n = scored.sum(axis=1)
    mse = np.where(scored, (actual - forecast) ** 2, 0.0).sum(axis=1) / np.maximum(n, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n > 0) & (scale > 0), np.sqrt(mse / np.where(scale > 0, scale, 1.0)), np.nan)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """sum w v / sum w over the series where `values` is finite (weights normalised over those)."""
    ok = np.isfinite(values)
    total = weights[ok].sum()
    return float((weights[ok] * values[ok]).sum() / total) if total > 0 else float("nan")


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """sum |actual - forecast| / sum actual over every day where both are present."""
    scored = ~np.isnan(actual) & ~np.isnan(forecast)
    total = actual[scored].sum()
    return float(np.abs(actual - forecast)[scored].sum() / total) if total > 0 else float("nan")


def revenue_weights(train: np.ndarray, price: np.ndarray | None, days: int = WEIGHT_DAYS) -> np.ndarray:
    """Units x price over the last `days` training days per series (units alone without prices); a
    day without a price counts the series' last known price in that window, censored days nothing."""
    units = np.nan_to_num(train[:, -days:])
    if price is None:
        return units.sum(axis=1)
    p = price[:, -days:].copy()
    for j in range(1, p.shape[1]):  # carry the last price forward over days without one
        p[:, j] = np.where(np.isnan(p[:, j]), p[:, j - 1], p[:, j])
    return (units * np.nan_to_num(p)).sum(axis=1)


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of observed days with lower <= actual <= upper (days with an interval)."""
    scored = ~np.isnan(actual) & ~np.isnan(lower) & ~np.isnan(upper)
    return float(((lower <= actual) & (actual <= upper))[scored].mean()) if scored.any() else float("nan")


def fill_censored(y: np.ndarray, season: int = SEASON) -> np.ndarray:
    """One series from its first sale, NaN days filled with the same weekday a week earlier (chained back),
    and where none is observed with the mean of the observed days."""
    out = y.copy()
    for t in range(season, len(out)):
        if np.isnan(out[t]):
            out[t] = out[t - season]
    return np.where(np.isnan(out), np.nanmean(y) if (~np.isnan(y)).any() else 0.0, out)


# --- sets ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RealSet:
    history: object  # pl.DataFrame, every day to the end of the held-out window
    as_of: date
    weights: str  # what the weighted RMSSE is weighted by


def load_set(name: str, data: Path) -> RealSet:
    from benchmarks import real_data

    if name == "items":
        h = real_data.read_items(data)
        return RealSet(h, real_data.M5_DAY1 + timedelta(days=674 - 1), "revenue (units x sell price)")
    if name == "store":
        h = real_data.read_store(data)
        return RealSet(h, real_data.M5_DAY1 + timedelta(days=1913 - 1), "units (no prices in this set)")
    h = real_data.read_rossmann(data)
    return RealSet(h, h["date"].max() - timedelta(days=HORIZON), "sales turnover (no prices in this set)")


def dense(frame, keys, start: date, n_days: int, column: str) -> np.ndarray:
    """(keys.height, n_days) of `column` by series index (keys' row) and day since `start`; NaN elsewhere."""
    import polars as pl

    rows = frame.join(keys.select("sku", "warehouse_id", "series"), on=["sku", "warehouse_id"]).select(
        "series", (pl.col("date") - pl.lit(start)).dt.total_days().alias("day"), pl.col(column).cast(pl.Float64)
    )
    rows = rows.filter((pl.col("day") >= 0) & (pl.col("day") < n_days))
    out = np.full((keys.height, n_days), np.nan)
    out[rows["series"].to_numpy(), rows["day"].to_numpy()] = rows[column].fill_null(np.nan).to_numpy()
    return out


# --- statsforecast in a spawn pool ---------------------------------------------------------------------


def _sf_model(name: str):
    from statsforecast.models import IMAPA, AutoETS, AutoTheta, SeasonalNaive

    return {
        "SeasonalNaive": lambda: SeasonalNaive(season_length=SEASON),
        "AutoETS": lambda: AutoETS(season_length=SEASON),
        "AutoTheta": lambda: AutoTheta(season_length=SEASON),
        "IMAPA": lambda: IMAPA(),
    }[name]()


def _sf_chunk(name: str, series: list[np.ndarray], h: int) -> tuple[np.ndarray, int]:
    """Forecasts (len(series), h) and the number of fits that raised or returned NaN (a series shorter
    than a season): those get the seasonal naive forecast, or the mean of a series shorter than a week."""
    out, failed = np.empty((len(series), h)), 0
    for i, y in enumerate(series):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # short-series notices: counted as failed fits instead
                out[i] = _sf_model(name).forecast(y=y, h=h)["mean"]
            if np.isfinite(out[i]).all():
                continue
        except Exception:  # noqa: BLE001  (statsforecast raises assorted errors on degenerate series)
            pass
        failed += 1
        last = y[-SEASON:] if len(y) >= SEASON else np.full(SEASON, y.mean())
        out[i] = last[np.arange(h) % len(last)]
    return out, failed


def _warm(barrier) -> None:
    import statsforecast.models  # noqa: F401  (most of a worker's start)

    barrier.wait(timeout=600)  # every worker imported before the first model is timed


def statsforecast_runs(
    names: tuple[str, ...], series: list[np.ndarray], h: int, workers: int
) -> tuple[dict[str, tuple[np.ndarray, float, int]], float]:
    """Each model over every series in one warm spawn pool: {name: (forecasts, seconds, failed fits)},
    and the seconds the pool took to start (spawn and import, once for all models)."""
    start = time.perf_counter()
    out = {}
    if workers <= 1:
        _sf_model(names[0])  # the import, as a pool's start
        started = time.perf_counter() - start
        for name in names:
            t = time.perf_counter()
            fc, failed = _sf_chunk(name, series, h)
            out[name] = (fc, time.perf_counter() - t, failed)
        return out, started
    ctx = multiprocessing.get_context("spawn")
    n_chunks = min(len(series), 8 * workers)
    bounds = np.linspace(0, len(series), n_chunks + 1).astype(int)
    chunks = [series[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_warm, initargs=(ctx.Barrier(workers),)
    ) as pool:
        # One task per worker spawns them all (spawned workers start on demand); the barrier in _warm holds
        # the first result back until every worker has imported.
        for f in [pool.submit(int) for _ in range(workers)]:
            f.result()
        started = time.perf_counter() - start
        for name in names:
            t = time.perf_counter()
            parts = list(pool.map(_sf_chunk, [name] * n_chunks, chunks, [h] * n_chunks))
            out[name] = (np.vstack([p[0] for p in parts]), time.perf_counter() - t, sum(p[1] for p in parts))
    return out, started


# --- one set ------------------------------------------------------------------------------------------


@dataclass
class Row:
    method: str
    rmsse: np.ndarray  # per series, NaN = not scored
    wape: float
    seconds: float | None
    note: str = ""


def _row(method: str, actual, forecast, train, seconds, note="") -> Row:
    return Row(method, rmsse(actual, forecast, train), wape(actual, forecast), seconds, note)


def select_series(history, as_of: date, limit: int | None, seed: int):
    """Series with a sale on or before `as_of`, sorted, numbered (a random `limit` of them)."""
    import polars as pl

    keys = (
        history.filter((pl.col("date") <= as_of) & (pl.col("y") > 0))
        .select("sku", "warehouse_id")
        .unique()
        .sort("sku", "warehouse_id")
    )
    if limit and limit < keys.height:
        keys = keys.sample(limit, seed=seed).sort("sku", "warehouse_id")
    return keys.with_row_index("series")


def run_set(name: str, args, cfg_overrides: dict, say: Callable[[str], None]) -> None:
    import polars as pl

    from forecasting import ForecastConfig, run_forecast

    t0 = time.perf_counter()
    s = load_set(name, args.data)
    all_series = s.history.select("sku", "warehouse_id").n_unique()
    keys = select_series(s.history, s.as_of, None, args.seed)
    recent = (
        s.history.filter(
            (pl.col("date") > s.as_of - timedelta(days=HORIZON)) & (pl.col("date") <= s.as_of) & (pl.col("y") > 0)
        )
        .select("sku", "warehouse_id")
        .n_unique()
    )
    n_kept = keys.height
    if args.limit:
        keys = select_series(s.history, s.as_of, args.limit, args.seed)
    history = s.history.join(keys.select("sku", "warehouse_id"), on=["sku", "warehouse_id"])
    train_frame = history.filter(pl.col("date") <= s.as_of)
    start = train_frame["date"].min()
    n_train = (s.as_of - start).days + 1
    train = dense(train_frame, keys, start, n_train, "y")
    price = dense(train_frame, keys, start, n_train, "price")
    price = None if np.isnan(price).all() else price
    actual = dense(history, keys, s.as_of + timedelta(days=1), HORIZON, "y")
    weights = revenue_weights(train, price)
    censored_train = int(train_frame["is_censored"].sum())
    censored_held = int(history.filter(pl.col("date") > s.as_of)["is_censored"].sum())
    say(
        f"\n=== {name}: as-of {s.as_of}, held out {s.as_of + timedelta(days=1)} .. "
        f"{s.as_of + timedelta(days=HORIZON)}; load average {_load()} ===\n"
        f"{all_series} series with a sale in the file; {n_kept} with a sale on or before the as-of date "
        f"({recent} with one in the 28 days before it); benchmarked: {keys.height}"
        f"{f' (random --limit {args.limit}, seed {args.seed})' if args.limit else ''}. "
        f"Censored (store closed) days: {censored_train} training, {censored_held} held out. "
        f"Loaded in {time.perf_counter() - t0:.1f} s."
    )
    scale = rmsse_scale(train)
    zero_scale = int((~(scale > 0)).sum())
    no_days = int((np.isnan(actual).all(axis=1) & (scale > 0)).sum())
    say(f"RMSSE left out for {zero_scale} series with a zero scale and {no_days} without an observed held-out day.")

    rows: list[Row] = []
    memory = TreeMemory()
    cfg = ForecastConfig(workers=args.workers, **cfg_overrides)
    run, run_seconds = None, None
    try:
        t = time.perf_counter()
        run = run_forecast(train_frame, cfg, as_of=s.as_of)
        run_seconds = time.perf_counter() - t
    except Exception:  # noqa: BLE001  (report what failed, still measure the references)
        say(f"run_forecast FAILED with {cfg_overrides or 'the default config'}:\n{traceback.format_exc()}")
    sel_cov = None
    if run is not None:
        fc = run.forecasts.with_columns(pl.col("forecast_date").alias("date"))
        sel = fc.filter(pl.col("is_selected"))
        arrays = {
            c: dense(sel, keys, s.as_of + timedelta(days=1), HORIZON, c) for c in ("yhat", "yhat_lower", "yhat_upper")
        }
        picked = dict(
            sel.select("sku", "warehouse_id", "model").unique().group_by("model").len().sort("model").iter_rows()
        )
        rows.append(_row("project: selected", actual, arrays["yhat"], train, run_seconds, f"picks {picked}"))
        sel_cov = coverage(actual, arrays["yhat_lower"], arrays["yhat_upper"])
        for model in sorted(fc["model"].unique().to_list()):
            f = dense(fc.filter(pl.col("model") == model), keys, s.as_of + timedelta(days=1), HORIZON, "yhat")
            rows.append(_row(f"project: {model}", actual, f, train, None))
    series = [fill_censored(train[i, int(np.argmax(~np.isnan(train[i]))) :]) for i in range(keys.height)]
    fits, pool_start = statsforecast_runs(SF_MODELS, series, HORIZON, args.workers)
    for model, (f, secs, failed) in fits.items():
        rows.append(
            _row(
                f"statsforecast: {model}",
                actual,
                f,
                train,
                secs,
                f"{failed} fits failed or too short" if failed else "",
            )
        )
    # Not a method: each series' own mean over its held-out days, every day. What a forecast that knew the
    # month's level exactly (and nothing of its days) would score: how much room the set leaves at all.
    with np.errstate(invalid="ignore"):
        level = np.repeat(np.nanmean(actual, axis=1, keepdims=True), HORIZON, axis=1)
    rows.append(_row("oracle: held-out mean", actual, level, train, None, "knows each series' held-out level"))
    memory.stop()
    _print_table(rows, weights, say)
    say(
        f"statsforecast pool start (spawn {args.workers} workers, import): {pool_start:.1f} s, once for all "
        "its models and not in their seconds"
    )
    say(f"weights of the weighted RMSSE: {s.weights}, last {WEIGHT_DAYS} training days")
    by = {r.method: r for r in rows}
    if run is not None:
        selected = by["project: selected"]
        # On the series both sides are scored on: a run that leaves series out is not compared on fewer.
        both = np.isfinite(selected.rmsse) & np.all(
            [np.isfinite(by[f"statsforecast: {m}"].rmsse) for m in SF_REFERENCE], 0
        )
        ref = {m: np.where(both, by[f"statsforecast: {m}"].rmsse, np.nan) for m in SF_REFERENCE}
        sel_rmsse = np.where(both, selected.rmsse, np.nan)
        best = min(SF_REFERENCE, key=lambda m: np.nanmean(ref[m]))
        best_w = min(SF_REFERENCE, key=lambda m: weighted_mean(ref[m], weights))
        r1 = np.nanmean(sel_rmsse) / np.nanmean(ref[best])
        r2 = weighted_mean(sel_rmsse, weights) / weighted_mean(ref[best_w], weights)
        say(f"ratios on the {int(both.sum())} series scored for the selection and every reference model")
        # The project's seconds include its pool's start, so AutoETS's get the statsforecast pool's.
        r3 = run_seconds / (fits["AutoETS"][1] + pool_start)
        lo, hi = COVERAGE_BAR
        say(f"selected mean RMSSE / {best}'s     = {r1:.3f} (bar <= {RMSSE_BAR}) -> {_verdict(r1 <= RMSSE_BAR)}")
        say(f"selected weighted RMSSE / {best_w}'s = {r2:.3f} (bar <= {WRMSSE_BAR}) -> {_verdict(r2 <= WRMSSE_BAR)}")
        say(
            f"project seconds / (AutoETS + pool start) = {r3:.2f} (bar <= {SECONDS_BAR:g}) "
            f"-> {_verdict(r3 <= SECONDS_BAR)}; to AutoETS alone {run_seconds / fits['AutoETS'][1]:.2f}"
        )
        say(f"80% interval coverage, selected    = {sel_cov:.3f} (bar {lo}-{hi}) -> {_verdict(lo <= sel_cov <= hi)}")
        oracle = np.where(both, by["oracle: held-out mean"].rmsse, np.nan)
        say(
            f"the oracle's mean RMSSE / {best}'s = {np.nanmean(oracle) / np.nanmean(ref[best]):.3f}, weighted / "
            f"{best_w}'s = {weighted_mean(oracle, weights) / weighted_mean(ref[best_w], weights):.3f}"
        )
        say(
            f"run params: n_series {run.params.get('n_series')}, "
            f"selected {json.dumps(run.params.get('selected_models'))}"
        )
    say(f"peak memory of this set (process tree, sampled): {memory.peak / 1024**3:.2f} GiB; load average {_load()}")


def _load() -> str:
    # The machine is shared: a busy one slows every timed method, and the seconds only compare within a run.
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _print_table(rows: list[Row], weights: np.ndarray, say: Callable[[str], None]) -> None:
    width = max(len(r.method) for r in rows)
    say(f"{'method':<{width}}  {'series':>6}  {'RMSSE':>7}  {'wRMSSE':>7}  {'WAPE':>7}  {'seconds':>8}  note")
    for r in rows:
        n = int(np.isfinite(r.rmsse).sum())
        secs = f"{r.seconds:8.1f}" if r.seconds is not None else f"{'':>8}"
        say(
            f"{r.method:<{width}}  {n:6d}  {np.nanmean(r.rmsse) if n else float('nan'):7.4f}  "
            f"{weighted_mean(r.rmsse, weights):7.4f}  {r.wape:7.4f}  {secs}  {r.note}"
        )


def _parse_cfg(items: list[str]) -> dict:
    """KEY=VALUE pairs for ForecastConfig, VALUE as JSON (lists become tuples), else as a string."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out[key] = tuple(parsed) if isinstance(parsed, list) else parsed
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", choices=["items", "store", "rossmann"], dest="sets")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    parser.add_argument("--limit", type=int, help="a random N of the series (seed --seed)")
    parser.add_argument("--quick", action="store_true", help="--limit 100")
    parser.add_argument("--workers", type=int, default=2, help="processes for the project's run and for statsforecast")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cfg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help='ForecastConfig field, e.g. models=["seasonal_naive","tsb"]',
    )
    args = parser.parse_args()
    if args.quick and not args.limit:
        args.limit = 100
    sets = args.sets or ["items", "store"]
    if not args.data.is_dir():
        raise SystemExit(f"no data folder {args.data} (see --data)")
    cfg_overrides = _parse_cfg(args.cfg)
    print(f"workers {args.workers}; ForecastConfig overrides {cfg_overrides or 'none'}; data {args.data}", flush=True)
    for name in sets:
        run_set(name, args, cfg_overrides, lambda line: print(line, flush=True))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
    print(f"\npeak RSS (getrusage): this process {own:.2f} GiB, largest child process {kids:.2f} GiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
