"""dbt benchmark: what dbt adds on top of the SQL it runs, and what an incremental day costs.

    .venv/bin/python benchmarks/dbt_build.py [--scale 1] [--landing DIR] [--keep DIR]

1. Feeds (scale 1 by default) are loaded into a fresh warehouse, which is then set aside as a copy.
2. `dbt build --full-refresh` (models and data tests) on the warehouse: timed.
3. Baseline: on the set-aside copy, DuckDB alone runs the same compiled SQL dbt ran (each model's
   `target/run` statement and each data test's query), in dbt's order: timed.
4. One more day of feeds is generated and loaded, and `dbt build` runs incrementally: the one-day build.
5. `dbt build` once more with no new data: dbt's fixed cost (start-up, and every model and test visited
   with nothing new to do), printed beside the one-day build.
6. The dearest models' SQL times, full build beside the one-day build.

Every build is started the way `scm run` starts it (pipelines/assets/dbt.py: its arguments, environment,
a target folder of its own starting from the warehouse's parse state), as one build of the whole project
where a run builds the planning models in a second one after the forecast. The warehouse is new, so the
full build parses the whole project, as a first run on a new warehouse does; the later builds start from
the parse state the one before kept.

A build's SQL time is the sum over its models and data tests of the `execute` phase in run_results.json
`timing`: running the materialization or the test query, without dbt's start-up, parse and compiling.

Bars: full build (wall time) / DuckDB alone <= 1.3; one-day build / full build (SQL time) <= 0.2.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from contextlib import redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path

from dagster_dbt import DbtCliResource

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.assets.dbt import build_failure, dbt_env, invoke_build, keep_parse_state  # noqa: E402
from pipelines.assets.dbt_project import dbt_cli, dbt_project  # noqa: E402

OVERHEAD_BAR = 1.3
ONE_DAY_BAR = 0.2
PROFILED = 15


def load(landing: Path, db: Path) -> None:
    import duckdb

    from forecasting.store import ensure_tables
    from pipelines.feeds.contract import FEEDS
    from pipelines.feeds.ingest import ingest_feed

    with duckdb.connect(str(db)) as con:
        for feed in FEEDS.values():
            ingest_feed(con, feed, landing, f"bench-{datetime.now():%H%M%S%f}", datetime.now())
        # The (empty) forecast tables, before the copy: the planning models are built on both sides of the
        # comparison, by dbt and by DuckDB alone, with no forecast run in either.
        ensure_tables(con)
        con.execute("checkpoint")


def build(dbt: DbtCliResource, db: Path, target: Path, *args: str) -> tuple[float, dict]:
    """One `dbt build` as a run starts it: wall seconds (dbt's process from start to exit) and its
    run_results.json."""
    # dbt's progress lines go to a log file, as `scm run` keeps them in the run's log.
    with target.with_name(f"{target.name}.log").open("w") as log, redirect_stdout(log):
        start = time.perf_counter()
        invocation = invoke_build(dbt, db, target, list(args)).wait()
        seconds = time.perf_counter() - start
    keep_parse_state(invocation, db)
    results = target / "run_results.json"
    run_results = json.loads(results.read_text()) if results.exists() else None
    if not invocation.is_successful() or run_results is None:
        sys.exit(build_failure(run_results, getattr(invocation, "_error_messages", [])))
    return seconds, run_results


def phase_seconds(result: dict, phase: str) -> float:
    for timing in result["timing"]:
        if timing["name"] == phase and timing.get("started_at") and timing.get("completed_at"):
            started, completed = (datetime.fromisoformat(timing[k].rstrip("Z")) for k in ("started_at", "completed_at"))
            return (completed - started).total_seconds()
    return 0.0


def sql_times(run_results: dict) -> dict[str, float]:
    """Each model's and data test's SQL time (its `execute` phase), by unique id."""
    return {
        r["unique_id"]: phase_seconds(r, "execute")
        for r in run_results["results"]
        if r["unique_id"].split(".")[0] in ("model", "test")
    }


def split(times: dict[str, float]) -> tuple[float, float]:
    """(models, tests) seconds."""
    models = sum(v for k, v in times.items() if k.startswith("model."))
    return models, sum(times.values()) - models


def parse_kind(target: Path) -> str:
    """How the build's dbt found its project: a full parse or from the parse state (its debug log)."""
    full = any("Unable to do partial parsing" in p.read_text(errors="replace") for p in target.glob("dbt.log*"))
    return "full parse" if full else "partial parse"


def compiled_statements(target: Path, run_results: dict) -> list[tuple[str, str]]:
    """(node, SQL) for every model and data test dbt ran, in the order it finished them."""
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    out = []
    for result in run_results["results"]:
        node = manifest.get(result["unique_id"])
        if node is None or node["resource_type"] not in ("model", "test"):
            continue
        path = target / "run" / node["package_name"] / node["original_file_path"]
        if path.suffix == ".yml":  # a generic test is written under the yml that declares it
            path = path / node["path"]
        # Tests' run files hold the query dbt ran (failure counts); models' create `<name>__dbt_tmp`,
        # which dbt then renames: here the relation is created under its final name directly.
        sql = re.sub(r"__dbt_tmp\d*", "", path.read_text())
        if "dbt_test_failures" in sql:  # a test that stores its failures counts them from that table: run its query
            sql = (target / "compiled" / path.relative_to(target / "run")).read_text()
        out.append((result["unique_id"], sql))
    return out


def run_in_duckdb(db: Path, statements: list[tuple[str, str]]) -> dict[str, float]:
    """Each statement's seconds, DuckDB alone, by node."""
    import duckdb

    from pipelines.settings import duckdb_memory_limit

    seconds = {}
    with duckdb.connect(str(db)) as con:
        con.execute("set memory_limit = $limit", {"limit": duckdb_memory_limit()})  # as dbt's profile sets it
        for schema in ("staging", "intermediate", "marts"):
            con.execute(f"create schema if not exists {schema}")
        for uid, sql in statements:
            start = time.perf_counter()
            con.execute(sql).fetchall()
            seconds[uid] = time.perf_counter() - start
    return seconds


def print_model_times(full: dict[str, float], one_day: dict[str, float]) -> None:
    """The models dearest in either build (the profile an incremental change aims at), full beside one-day."""
    full_m = {k.split(".")[-1]: v for k, v in full.items() if k.startswith("model.")}
    day_m = {k.split(".")[-1]: v for k, v in one_day.items() if k.startswith("model.")}
    dearest = sorted(set(full_m) | set(day_m), key=lambda m: -max(full_m.get(m, 0), day_m.get(m, 0)))[:PROFILED]
    print(f"SQL time per model (s), the {len(dearest)} dearest: full / one-day")
    for name in dearest:
        print(f"  {name:<40} {full_m.get(name, 0):7.2f} {day_m.get(name, 0):7.2f}")
    (fm, ft), (dm, dt) = split(full), split(one_day)
    print(f"  {'all models':<40} {fm:7.2f} {dm:7.2f}")
    print(f"  {'all data tests':<40} {ft:7.2f} {dt:7.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--landing", type=Path, help="copy these feeds instead of generating them")
    parser.add_argument("--keep", type=Path, help="work in this (new) folder and keep it, to inspect dbt's timings")
    args = parser.parse_args()
    from pipelines.demo import generate

    with tempfile.TemporaryDirectory(prefix="scm-dbt-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        # The copy keeps the file name: dbt's SQL names the catalog after it.
        landing, db, pristine = work / "landing", work / "warehouse.duckdb", work / "baseline" / "warehouse.duckdb"
        pristine.parent.mkdir()
        if args.landing:
            shutil.copytree(args.landing, landing)
        else:
            generate(landing, scale=args.scale)
        load(landing, db)
        shutil.copy(db, pristine)

        # One resource for every build, as a run has: its first call loads dbt into this process (dagster-dbt
        # opens an adapter) and asks dbt for its version, once: left out of the timings.
        dbt = dbt_cli(dbt_project)
        with (work / "target-version.log").open("w") as log, redirect_stdout(log):
            dbt.cli(["--version"], target_path=work / "target-version").wait()

        full_target = work / "target-full"
        full, full_results = build(dbt, db, full_target, "--full-refresh")
        full_sql = sql_times(full_results)
        statements = compiled_statements(full_target, full_results)
        alone_times = run_in_duckdb(pristine, statements)
        alone = sum(alone_times.values())

        last = max(p.stem.rsplit("_", 1)[-1] for p in (landing / "orders").glob("orders_*.csv"))
        next_day = datetime.strptime(last, "%Y-%m-%d").date() + timedelta(days=1)
        generate(landing, scale=args.scale, start=next_day, days=1)
        load(landing, db)
        one_day_target, noop_target = work / "target-one-day", work / "target-no-op"
        one_day, one_day_results = build(dbt, db, one_day_target)
        one_day_sql = sql_times(one_day_results)
        noop, noop_results = build(dbt, db, noop_target)
        noop_sql = sql_times(noop_results)

        models = sum(1 for uid, _ in statements if uid.startswith("model."))
        (am, at), (fm, ft) = split(alone_times), split(full_sql)
        print(
            f"full dbt build: {full:.1f} s wall ({parse_kind(full_target)}; dbt's own run "
            f"{full_results['elapsed_time']:.1f} s; SQL time {sum(full_sql.values()):.1f} s: models {fm:.1f}, "
            f"tests {ft:.1f}, summed over {dbt_env(db)['SCM_DBT_THREADS']} threads)"
        )
        print(
            f"DuckDB alone on the same SQL ({models} models, {len(statements) - models} tests): {alone:.1f} s "
            f"(models {am:.1f}, tests {at:.1f})"
        )
        print(
            f"one-day build ({next_day}): {one_day:.1f} s wall ({parse_kind(one_day_target)}), SQL time "
            f"{sum(one_day_sql.values()):.1f} s; fixed cost, the same build with no new data: {noop:.1f} s wall, "
            f"SQL time {sum(noop_sql.values()):.1f} s"
        )
        print_model_times(full_sql, one_day_sql)
        overhead, day = full / alone, sum(one_day_sql.values()) / sum(full_sql.values())
        ok = overhead <= OVERHEAD_BAR and day <= ONE_DAY_BAR
        print(
            f"ratio full/duckdb (wall): {overhead:.2f} (bar <= {OVERHEAD_BAR}); one-day/full (SQL time): {day:.2f} "
            f"(bar <= {ONE_DAY_BAR}; fixed cost {noop:.1f} s wall, {sum(noop_sql.values()):.1f} s SQL) "
            f"-> {'PASS' if ok else 'FAIL'}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
