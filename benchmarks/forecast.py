"""Forecasting benchmark: `run_forecast` against a plain sequential loop of default Prophet, same series.

    .venv/bin/python benchmarks/forecast.py [--series 200] [--workers 2] [--landing DIR]
    .venv/bin/python benchmarks/forecast.py --series all        # the scale-1 catalogue, 15-minute bar

Data: the demo feeds of scale 1 (generated into a temp dir unless --landing is given), read straight from
the landing CSVs (current version of each order line = latest updated_at), through `demand_history`. The
last 28 days are held out: both sides see the history up to as_of = last day - 28 and are scored on the
28 days after it (censored days excluded), WAPE = sum |actual - forecast| / sum actual over all series.

Baseline: for each series, `Prophet()` with default settings, `fit` on (ds, y) with censored days as
missing, then `predict` of the 28 days with its default 1000 uncertainty samples, one series after the
other. Ours: `run_forecast` with its defaults and `--workers` processes: every model, the rolling-origin
backtest (3 cut-offs), selection, intervals, frames, including starting the process pool.
With `--series all`, ours runs on every series and the baseline on a random `--baseline-series` of them
(rates are compared; WAPEs on that common sample). Each side runs in a child process of its own; peak
memory is the largest total resident memory of that child and its descendants (its process pool).

Bars (issue): series/s ratio >= 2 (aim 4), selected WAPE <= baseline WAPE, scale-1 catalogue < 15 minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.memory import TreeMemory  # noqa: E402  (after the path is set)

RATIO_BAR, RATIO_AIM, CATALOGUE_BAR_S, HOLDOUT = 2.0, 4.0, 15 * 60, 28


def load_landing(root: Path):
    import polars as pl

    orders = (
        pl.scan_csv(str(root / "orders" / "*.csv"), infer_schema=False)
        .with_columns(pl.col("updated_at").str.to_datetime(time_zone="UTC"))
        .sort("updated_at")
        .group_by("order_id", "line_number")
        .last()
        .select(
            "sku",
            "warehouse_id",
            pl.col("order_ts").str.to_datetime(time_zone="UTC").dt.date().alias("order_date"),
            pl.col("quantity_ordered").cast(pl.Int64),
            pl.col("unit_price").cast(pl.Float64),
            (pl.col("status") == "cancelled").alias("is_cancelled"),
        )
        .collect()
    )
    inventory = (
        pl.scan_csv(str(root / "inventory" / "*.csv"), infer_schema=False)
        .select(pl.col("snapshot_date").str.to_date(), "warehouse_id", "sku", pl.col("on_hand_qty").cast(pl.Int64))
        .unique(["snapshot_date", "warehouse_id", "sku"], keep="last")
        .collect()
    )
    warehouses = (
        pl.read_csv(str(root / "warehouses" / "*.csv")).select("warehouse_id", "country").unique("warehouse_id")
    )
    return orders, inventory, warehouses


def prepare(landing: Path, work: Path, series: str, baseline_series: int, seed: int) -> dict:
    """Write history (up to as_of), held-out actuals and the two series samples; return their description."""
    import polars as pl

    from forecasting import demand_history

    orders, inventory, warehouses = load_landing(landing)
    last = orders["order_date"].max()
    as_of = last - timedelta(days=HOLDOUT)
    t0 = time.perf_counter()
    full = demand_history(orders, inventory, warehouses, last)
    history_seconds = time.perf_counter() - t0
    # Series with four weeks of observed (not censored) days before as_of: default Prophet cannot fit
    # fewer than two, and both sides get the same series.
    keys = (
        full.filter(pl.col("date") <= as_of)
        .group_by("sku", "warehouse_id")
        .agg(pl.col("y").is_not_null().sum().alias("observed"))
        .filter(pl.col("observed") >= HOLDOUT)
        .select("sku", "warehouse_id")
        .sort("sku", "warehouse_id")
    )
    ours = keys if series == "all" else keys.sample(min(int(series), keys.height), seed=seed)
    base = ours if series != "all" else ours.sample(min(baseline_series, ours.height), seed=seed)
    full = full.join(ours, on=["sku", "warehouse_id"])
    full.filter(pl.col("date") <= as_of).write_parquet(work / "history.parquet")
    actual = full.filter(pl.col("date") > as_of).select("sku", "warehouse_id", "date", "y")
    actual.write_parquet(work / "actual.parquet")
    base.write_parquet(work / "baseline_keys.parquet")
    return {
        "as_of": as_of.isoformat(),
        "n_ours": ours.height,
        "n_baseline": base.height,
        "history_seconds": history_seconds,
        "catalogue": keys.height,
    }


def _child(side: str, work: Path, workers: int) -> None:
    import logging
    from datetime import date

    import polars as pl

    memory = TreeMemory()

    info = json.loads((work / "info.json").read_text())
    as_of = date.fromisoformat(info["as_of"])
    history = pl.read_parquet(work / "history.parquet")
    if side == "ours":
        from forecasting import ForecastConfig, run_forecast

        start = time.perf_counter()
        run = run_forecast(history, ForecastConfig(workers=workers), as_of=as_of)
        seconds = time.perf_counter() - start
        out = run.forecasts.filter(pl.col("is_selected")).select(
            "sku", "warehouse_id", pl.col("forecast_date").alias("date"), "yhat", "yhat_lower", "yhat_upper"
        )
        n = history.select("sku", "warehouse_id").n_unique()
        extra = {"selected": run.params["selected_models"], "prophet_series": run.params["n_series_prophet"]}
    else:
        logging.getLogger("prophet.plot").disabled = True  # "plotly not installed" at import
        import pandas as pd
        from prophet import Prophet

        for name in ("cmdstanpy", "prophet", "prophet.models"):
            logging.getLogger(name).disabled = True  # `disabled` does not pass on to child loggers
        keys = pl.read_parquet(work / "baseline_keys.parquet")
        history = history.join(keys, on=["sku", "warehouse_id"])
        frames, n = [], 0
        start = time.perf_counter()
        for (sku, wh), part in history.group_by("sku", "warehouse_id", maintain_order=True):
            df = pd.DataFrame({"ds": pd.to_datetime(part["date"].to_numpy()), "y": part["y"].to_numpy()})
            model = Prophet().fit(df)
            fc = model.predict(model.make_future_dataframe(periods=HOLDOUT, include_history=False))
            frames.append(
                pl.DataFrame(
                    {
                        "sku": sku,
                        "warehouse_id": wh,
                        "date": fc["ds"].to_numpy().astype("datetime64[D]"),
                        "yhat": fc["yhat"].to_numpy(),
                        "yhat_lower": fc["yhat_lower"].to_numpy(),
                        "yhat_upper": fc["yhat_upper"].to_numpy(),
                    }
                )
            )
            n += 1
        seconds = time.perf_counter() - start
        out = pl.concat(frames).with_columns(pl.col("date").cast(pl.Date))
        extra = {}
    out.write_parquet(work / f"forecast_{side}.parquet")
    memory.stop()
    print(json.dumps({"side": side, "seconds": seconds, "series": n, "peak_gib": memory.peak / 1024**3, **extra}))


def _score(work: Path, side: str, keys) -> dict:
    import polars as pl

    actual = pl.read_parquet(work / "actual.parquet").join(keys, on=["sku", "warehouse_id"])
    fc = pl.read_parquet(work / f"forecast_{side}.parquet")
    j = actual.filter(pl.col("y").is_not_null()).join(fc, on=["sku", "warehouse_id", "date"], how="inner")
    s = j.select(
        ((pl.col("y") - pl.col("yhat")).abs().sum() / pl.col("y").sum()).alias("wape"),
        ((pl.col("yhat") - pl.col("y")).sum() / pl.col("y").sum()).alias("bias"),
        pl.col("y").is_between(pl.col("yhat_lower"), pl.col("yhat_upper")).mean().alias("coverage"),
        pl.len().alias("days"),
    )
    return s.row(0, named=True)


def _run_side(side: str, work: Path, workers: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", side, "--work", str(work), "--workers", str(workers)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{side} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", default="200", help="number of series to sample, or 'all'")
    parser.add_argument("--baseline-series", type=int, default=200, help="baseline sample with --series all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--landing", type=Path, help="use these feeds instead of generating them")
    parser.add_argument("--child", choices=["ours", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.work, args.workers)
        return 0

    import polars as pl

    with tempfile.TemporaryDirectory(prefix="bench-forecast-") as tmp:
        work = Path(tmp)
        landing = args.landing
        if landing is None:
            from pipelines.demo import generate

            landing = work / "landing"
            print(f"generating scale-{args.scale:g} feeds ...", flush=True)
            generate(landing, scale=args.scale)
        info = prepare(landing, work, args.series, args.baseline_series, args.seed)
        (work / "info.json").write_text(json.dumps(info))
        print(
            f"as_of {info['as_of']} (last {HOLDOUT} days held out); catalogue {info['catalogue']} series; "
            f"ours on {info['n_ours']}, baseline on {info['n_baseline']}; "
            f"demand_history {info['history_seconds']:.1f} s",
            flush=True,
        )
        ours = _run_side("ours", work, args.workers)
        base = _run_side("baseline", work, args.workers)
        common = pl.read_parquet(work / "baseline_keys.parquet")
        s_ours, s_base = _score(work, "ours", common), _score(work, "baseline", common)

    rate_ours, rate_base = ours["series"] / ours["seconds"], base["series"] / base["seconds"]
    ratio = rate_ours / rate_base
    print(
        f"ours     : {ours['series']:5d} series in {ours['seconds']:7.1f} s = {rate_ours:6.2f} series/s, "
        f"peak {ours['peak_gib']:.2f} GiB; Prophet fitted on {ours['prophet_series']}, selected {ours['selected']}"
    )
    print(
        f"baseline : {base['series']:5d} series in {base['seconds']:7.1f} s = {rate_base:6.2f} series/s, "
        f"peak {base['peak_gib']:.2f} GiB"
    )
    verdict = "PASS" if ratio >= RATIO_BAR else "FAIL"
    print(f"ratio    : {ratio:.2f}x (bar >= {RATIO_BAR:g}x, aim {RATIO_AIM:g}x) -> {verdict}")
    print(
        f"held-out WAPE on the {base['series']} common series: selected {s_ours['wape']:.4f} "
        f"(bias {s_ours['bias']:+.3f}, 80% coverage {s_ours['coverage']:.2f}) vs default Prophet "
        f"{s_base['wape']:.4f} (bias {s_base['bias']:+.3f}, coverage {s_base['coverage']:.2f}) -> "
        f"{'PASS' if s_ours['wape'] <= s_base['wape'] else 'FAIL'}"
    )
    if args.series == "all":
        ok = ours["seconds"] < CATALOGUE_BAR_S
        print(
            f"catalogue: {ours['series']} series in {ours['seconds'] / 60:.1f} min (bar < 15 min) -> "
            f"{'PASS' if ok else 'FAIL'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
