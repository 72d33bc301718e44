"""The whole pipeline at scale: a full build from empty, then a one-day incremental run.

    .venv/bin/python benchmarks/pipeline.py [--scale 10] [--days 730] [--work DIR] [--keep]

Writes the demo world's first `days - 1` days into a fresh data directory (or uses the feeds already
in `<work>/landing`) and runs `scm run` (the `everything` job: load, dbt, forecast, planning marts,
snapshot) from nothing: the full build. Then it writes the next day's files and runs
`scm run --job refresh`, what the daily schedule and the new-files sensor run (load, dbt incremental,
planning marts on the week's forecast, snapshot): the incremental run. Each run starts once the landing
files have settled (are older than the loader's settle interval, pipelines/feeds/landing.py), as a
morning run finds files written overnight: the loader's wait for files still being copied in is idle
time, not the cost of a run. Each is a process of its own; peak memory is the largest total resident
memory of that process and its descendants (the forecast's process pool, dbt). The generator is
measured apart.

Bars: peak memory of every run's process tree under 8 GiB, and the one-day run takes at most a tenth
of the full build without its forecast step (the daily run does not refit the forecast, docs/operations.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.memory import TreeMemory  # noqa: E402  (after the path is set)
from pipelines.feeds.landing import settle_seconds  # noqa: E402

MEMORY_BAR_GIB, INCREMENTAL_BAR = 8.0, 0.10
SCM = Path(sys.executable).with_name("scm")
START = date(2024, 1, 1)


def timed(data: Path, *args: str) -> tuple[float, float]:
    """(seconds, peak GiB of its process tree) of one `scm` command on the data directory."""
    env = {**os.environ, "SCM_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    started = time.perf_counter()
    with subprocess.Popen(
        [str(SCM), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        memory = TreeMemory(root=proc.pid)
        out, err = proc.communicate()
    seconds = time.perf_counter() - started
    memory.stop()
    if proc.returncode:
        sys.stderr.write(out[-3000:] + err[-3000:])
        raise SystemExit(f"scm {' '.join(args)} failed")
    return seconds, memory.peak / 2**30


def step_times(data: Path) -> dict[str, float]:
    """The latest run's steps and their seconds, in the order they ran (from the run's Dagster event log)."""
    code = (
        "import dagster as dg\n"
        "with dg.DagsterInstance.get() as i:\n"
        "    run = i.get_runs(limit=1)[0]\n"
        "    for s in sorted(i.get_run_step_stats(run.run_id), key=lambda s: s.start_time or 0):\n"
        "        print(f'{s.step_key}={(s.end_time or 0) - (s.start_time or 0):.1f}')\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(data / "dagster_home")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return {key: float(sec) for key, sec in (line.rsplit("=", 1) for line in out.split())}


def show(steps: dict[str, float]) -> str:
    return ", ".join(f"{key} {sec:.0f} s" for key, sec in steps.items() if sec >= 0.5)


def wait_for_settled_files(data: Path) -> None:
    """Sleep until the newest landing file is older than the loader's settle interval."""
    files = [p for p in (data / "landing").rglob("*") if p.is_file()]
    if files:
        age = time.time() - max(p.stat().st_mtime for p in files)
        time.sleep(max(0.0, settle_seconds() + 1 - age))


def generate(data: Path, scale: float, start: date, days: int) -> tuple[float, float]:
    return timed(data, "generate", "--scale", str(scale), "--start", start.isoformat(), "--days", str(days))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--work", type=Path, help="data directory to use (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args()

    data = args.work or Path(tempfile.mkdtemp(prefix="scm-pipeline-bench-"))
    try:
        landing = data / "landing"
        if landing.exists() and any(landing.rglob("*.csv")):
            print(f"using the feeds already in {landing} as the first {args.days - 1} days", flush=True)
        else:
            gen_s, gen_gib = generate(data, args.scale, START, args.days - 1)
            print(
                f"scale {args.scale}: generated {args.days - 1} days in {gen_s:.0f} s "
                f"(generator peak {gen_gib:.2f} GiB)",
                flush=True,
            )
        wait_for_settled_files(data)
        full_s, full_gib = timed(data, "run")
        print(f"full build        : {full_s:8.1f} s, peak {full_gib:.2f} GiB", flush=True)
        full_steps = step_times(data)
        print(f"  steps: {show(full_steps)}", flush=True)

        generate(data, args.scale, START + timedelta(days=args.days - 1), 1)
        wait_for_settled_files(data)
        incr_s, incr_gib = timed(data, "run", "--job", "refresh")
        print(f"one-day increment : {incr_s:8.1f} s, peak {incr_gib:.2f} GiB", flush=True)
        print(f"  steps: {show(step_times(data))}", flush=True)

        forecast_s = full_steps.get("demand_forecast", 0.0)
        ratio = incr_s / (full_s - forecast_s)
        memory_ok = max(full_gib, incr_gib) < MEMORY_BAR_GIB
        print(f"incremental / full: {incr_s / full_s:.3f}")
        print(
            f"incremental / (full - forecast step {forecast_s:.0f} s): {ratio:.3f} (bar <= {INCREMENTAL_BAR}) -> "
            f"{'PASS' if ratio <= INCREMENTAL_BAR else 'FAIL'}"
        )
        print(
            f"peak memory       : {max(full_gib, incr_gib):.2f} GiB (bar < {MEMORY_BAR_GIB:.0f}) -> "
            f"{'PASS' if memory_ok else 'FAIL'}"
        )
        return 0 if ratio <= INCREMENTAL_BAR and memory_ok else 1
    finally:
        if args.keep or args.work:
            print(f"data directory kept: {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
