"""The Make stage's cost: the same demo world as a pure trader and as a manufacturer, each built in full.

    .venv/bin/python benchmarks/make.py [--scale 1] [--days 730] [--seed 7] [--repeat 1] [--work DIR] [--keep]

Generates both worlds (same seed, start and days; the trader with `--no-make`) into one temporary
directory, then runs `scm run` (the `everything` job from an empty warehouse) on each, alternating trader
and manufacturer `--repeat` times so that a noisy shared machine biases neither. Every run has a data
directory of its own and reads its world's landing folder through SCM_LANDING_DIR. Per world it prints
the generator's seconds and peak memory, each run's seconds, peak memory of its whole process tree
(benchmarks/memory.py), its steps grouped (ingest, dbt, forecast, snapshot), the series forecast and the
work orders loaded; then the dbt models that take longest in the manufacturer's run against the trader's.

Bars (issue "The Make stage"): the manufacturer's full run within 1.3x of the trader's (medians when
repeated), and, at `--scale 10`, peak memory under 8 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.memory import TreeMemory  # noqa: E402  (after the path is set)

RATIO_BAR, MEMORY_BAR_GIB = 1.3, 8.0
SCM = Path(sys.executable).with_name("scm")
START = "2024-01-01"
WORLDS = ("trader", "manufacturer")
EXIT_NEEDS_A_LOOK = 3  # scm run succeeded but an ERROR check failed: the build is complete, its time counts
STEP_GROUPS = {
    "warehouse_models": "dbt",
    "planning_models": "dbt",
    "demand_forecast": "forecast",
    "serve__snapshot": "snapshot",
}


@dataclass
class Run:
    seconds: float
    peak_gib: float
    steps: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, dict[str, float]] = field(default_factory=dict)  # asset key -> numeric metadata
    needs_a_look: bool = False


def run_order(repeat: int) -> list[str]:
    """trader, manufacturer, trader, manufacturer, ...: each world's runs spread over the whole benchmark."""
    return [world for _ in range(repeat) for world in WORLDS]


# The checks pipelines/checks.py runs on each feed's load, one step each (raw__<feed>_<check>).
FEED_CHECKS = ("_contract_expectations", "_freshness", "_outliers", "_misnamed_columns")


def step_group(step_key: str) -> str:
    """The part of the pipeline a Dagster step belongs to: the loads (one step per feed) are the ingest,
    the checks on them its checks."""
    if step_key.startswith("raw__"):
        return "ingest checks" if step_key.endswith(FEED_CHECKS) else "ingest"
    return STEP_GROUPS.get(step_key, "other")


def grouped(steps: dict[str, float], run_seconds: float) -> dict[str, float]:
    """Seconds per group of steps, in the order the groups first ran, and the run's seconds outside any
    step (the command's start, loading the definitions, Dagster's own work between steps): the run's
    steps run one after another in its process."""
    out: dict[str, float] = {}
    for key, seconds in steps.items():
        group = step_group(key)
        out[group] = out.get(group, 0.0) + seconds
    out["outside steps"] = run_seconds - sum(steps.values())
    return out


def model_seconds(metadata: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each dbt model's build time (dagster-dbt's "Execution Duration" on its materialization)."""
    return {key: m["Execution Duration"] for key, m in metadata.items() if "Execution Duration" in m}


def slowest_models(make: dict[str, float], trade: dict[str, float], n: int) -> list[tuple[str, float, float]]:
    """The n models that take longest in the manufacturer's run, with the trader's time (0 for a model
    the trader does not build), most expensive first."""
    rows = [(key, seconds, trade.get(key, 0.0)) for key, seconds in make.items()]
    return sorted(rows, key=lambda row: row[1], reverse=True)[:n]


def ratio(runs: dict[str, list[Run]]) -> float:
    """The manufacturer's median full-run seconds over the trader's."""
    return statistics.median(r.seconds for r in runs["manufacturer"]) / statistics.median(
        r.seconds for r in runs["trader"]
    )


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def scm(data: Path, *args: str, landing: Path | None = None) -> tuple[float, float, int]:
    """(seconds, peak GiB of its process tree, exit code) of one `scm` command on the data directory."""
    env = {**os.environ, "SCM_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    if landing is not None:
        env["SCM_LANDING_DIR"] = str(landing)
    started = time.perf_counter()
    with subprocess.Popen(
        [str(SCM), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        memory = TreeMemory(root=proc.pid)
        out, err = proc.communicate()
    seconds = time.perf_counter() - started
    memory.stop()
    if proc.returncode not in (0, EXIT_NEEDS_A_LOOK):
        sys.stderr.write(out[-3000:] + err[-3000:])
        raise SystemExit(f"scm {' '.join(args)} failed (exit {proc.returncode})")
    return seconds, memory.peak / 2**30, proc.returncode


# Run in a process of its own, on the run's Dagster home: the latest run's step times and, per asset, the
# numeric metadata of its last materialization in that run.
RUN_RECORD = """
import json
import dagster as dg
with dg.DagsterInstance.get() as i:
    run = i.get_runs(limit=1)[0]
    stats = sorted(i.get_run_step_stats(run.run_id), key=lambda s: s.start_time or 0)
    steps = {s.step_key: (s.end_time or 0) - (s.start_time or 0) for s in stats}
    metadata = {}
    records = i.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=100000)
    for record in records.records:
        mat = record.event_log_entry.dagster_event.event_specific_data.materialization
        values = {k: getattr(v, "value", None) for k, v in mat.metadata.items()}
        metadata[mat.asset_key.to_user_string()] = {
            k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
    print(json.dumps({"steps": steps, "metadata": metadata}))
"""


def run_record(data: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    env = {**os.environ, "DAGSTER_HOME": str(data / "dagster_home")}
    out = subprocess.run([sys.executable, "-c", RUN_RECORD], env=env, capture_output=True, text=True, check=True).stdout
    record = json.loads(out)
    return record["steps"], record["metadata"]


def describe(world: str, run: Run) -> str:
    steps = ", ".join(f"{group} {seconds:.0f} s" for group, seconds in grouped(run.steps, run.seconds).items())
    series = next((m["series"] for k, m in run.metadata.items() if k.startswith("forecast/") and "series" in m), None)
    work_orders = run.metadata.get("raw/work_orders", {}).get("rows_loaded", 0)
    note = " (an ERROR check needs a look)" if run.needs_a_look else ""
    return (
        f"{world:<12} run {run.seconds:7.1f} s, peak {run.peak_gib:.2f} GiB{note}\n"
        f"{'':<12}   steps: {steps}\n"
        f"{'':<12}   series forecast {series if series is not None else '?'}, work orders loaded {work_orders:,}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="full runs per world, alternating")
    parser.add_argument("--models", type=int, default=12, help="slowest dbt models to list")
    parser.add_argument("--work", type=Path, help="directory for the worlds and runs (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the directory")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="scm-make-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        for world in WORLDS:
            landing = work / world / "landing"
            shutil.rmtree(landing, ignore_errors=True)
            flags = ["--no-make"] if world == "trader" else []
            gen_args = ["--scale", str(args.scale), "--seed", str(args.seed), "--start", START]
            gen_args += ["--days", str(args.days), "--out", str(landing), *flags]
            gen_s, gen_gib, _ = scm(work / world, "generate", *gen_args)
            print(
                f"{world:<12} generated {args.days} days at scale {args.scale} in {gen_s:.1f} s "
                f"(peak {gen_gib:.2f} GiB)",
                flush=True,
            )

        runs: dict[str, list[Run]] = {world: [] for world in WORLDS}
        for world in run_order(args.repeat):
            data = work / f"{world}-run{len(runs[world]) + 1}"
            shutil.rmtree(data, ignore_errors=True)
            seconds, gib, code = scm(data, "run", landing=work / world / "landing")
            steps, metadata = run_record(data)
            run = Run(seconds, gib, steps, metadata, needs_a_look=code == EXIT_NEEDS_A_LOOK)
            runs[world].append(run)
            print(describe(world, run), flush=True)
            shutil.rmtree(data / "snapshots", ignore_errors=True)  # the largest files; nothing reads them

        make_models = model_seconds(runs["manufacturer"][-1].metadata)
        trade_models = model_seconds(runs["trader"][-1].metadata)
        print(
            f"dbt models, build seconds summed: manufacturer {sum(make_models.values()):.0f} s "
            f"({len(make_models)} models), trader {sum(trade_models.values()):.0f} s ({len(trade_models)})"
        )
        for key, make_s, trade_s in slowest_models(make_models, trade_models, args.models):
            print(f"  {key:<48} {make_s:7.1f} s  (trader {trade_s:.1f} s)")

        r = ratio(runs)
        peak = max(run.peak_gib for world_runs in runs.values() for run in world_runs)
        print(f"manufacturer / trader run time: {r:.3f} (bar <= {RATIO_BAR}) -> {verdict(r <= RATIO_BAR)}")
        print(f"peak memory: {peak:.2f} GiB (bar < {MEMORY_BAR_GIB:.0f}) -> {verdict(peak < MEMORY_BAR_GIB)}")
        load = os.getloadavg()
        print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
        return 0 if r <= RATIO_BAR and peak < MEMORY_BAR_GIB else 1
    finally:
        if args.keep or args.work:
            print(f"directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
