"""dbt benchmark: what dbt adds on top of the SQL it runs, and what an incremental day costs.

    .venv/bin/python benchmarks/dbt_build.py [--scale 1] [--landing DIR]

1. Feeds (scale 1 by default) are loaded into a fresh warehouse, which is then set aside as a copy.
2. `dbt build --full-refresh` (models and data tests, as `scm run` runs it) on the warehouse: timed.
3. Baseline: on the set-aside copy, DuckDB alone runs the same compiled SQL dbt ran (each model's
   `target/run` statement and each data test's query), in dbt's order: timed.
4. One more day of feeds is generated and loaded, and `dbt build` runs incrementally: timed.
5. `dbt build` once more with no new data: the floor any incremental run pays (dbt's start-up, and
   every model and test visited once), reported beside the incremental time.
6. The dearest models' own times (dbt's run_results.json), full build beside the one-day build.

All dbt calls share one target folder, as a deployment's do (dbt then re-parses only what changed).

Bars (issue #3): full build / DuckDB alone <= 1.5; incremental / full build <= 0.2.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.assets.dbt import DBT_BUILD_ARGS, DBT_DIR  # noqa: E402

OVERHEAD_BAR = 1.5
INCREMENTAL_BAR = 0.2
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


def dbt(args: list[str], db: Path, target: Path) -> float:
    env = {**os.environ, "SCM_WAREHOUSE_PATH": str(db)}
    cmd = [
        str(Path(sys.executable).with_name("dbt")),
        *args,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"dbt {' '.join(args)} failed:\n{done.stdout[-3000:]}")
    return seconds


def compiled_statements(target: Path) -> list[tuple[str, str]]:
    """(node, SQL) for every model and data test dbt ran, in the order it finished them."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    out = []
    for result in results:
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


def model_times(target: Path) -> dict[str, float]:
    """Each model's execution time in the last dbt call (run_results.json), by model name."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results if r["unique_id"].startswith("model.")}


def print_model_times(full: dict[str, float], one_day: dict[str, float]) -> None:
    """The models dearest in either build (the profile an incremental change aims at), full beside one-day."""
    dearest = sorted(set(full) | set(one_day), key=lambda m: -max(full.get(m, 0), one_day.get(m, 0)))[:PROFILED]
    print(f"per model (s, from run_results.json), the {len(dearest)} dearest: full / one-day")
    for name in dearest:
        print(f"  {name:<40} {full.get(name, 0):7.2f} {one_day.get(name, 0):7.2f}")
    print(f"  {'all models':<40} {sum(full.values()):7.2f} {sum(one_day.values()):7.2f}")


def run_in_duckdb(db: Path, statements: list[tuple[str, str]]) -> float:
    import duckdb

    with duckdb.connect(str(db)) as con:
        for schema in ("staging", "intermediate", "marts"):
            con.execute(f"create schema if not exists {schema}")
        start = time.perf_counter()
        for _, sql in statements:
            con.execute(sql).fetchall()
        return time.perf_counter() - start


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

        target = work / "target"
        full = dbt([*DBT_BUILD_ARGS, "--full-refresh"], db, target)
        statements = compiled_statements(target)
        full_models = model_times(target)
        alone = run_in_duckdb(pristine, statements)

        last = max(p.stem.rsplit("_", 1)[-1] for p in (landing / "orders").glob("orders_*.csv"))
        next_day = datetime.strptime(last, "%Y-%m-%d").date() + timedelta(days=1)
        generate(landing, scale=args.scale, start=next_day, days=1)
        load(landing, db)
        incremental = dbt(DBT_BUILD_ARGS, db, target)
        one_day_models = model_times(target)
        floor = dbt(DBT_BUILD_ARGS, db, target)

        models = sum(1 for uid, _ in statements if uid.startswith("model."))
        print(
            f"full dbt build: {full:.1f} s; DuckDB alone on the same SQL ({models} models, "
            f"{len(statements) - models} tests): {alone:.1f} s"
        )
        print(
            f"incremental dbt build after one more day ({next_day}): {incremental:.1f} s; "
            f"the same with no new data: {floor:.1f} s ({floor / full:.2f} of the full build)"
        )
        print_model_times(full_models, one_day_models)
        overhead, inc = full / alone, incremental / full
        ok = overhead <= OVERHEAD_BAR and inc <= INCREMENTAL_BAR
        print(
            f"ratio full/duckdb: {overhead:.2f} (bar <= {OVERHEAD_BAR}); incremental/full: {inc:.2f} "
            f"(bar <= {INCREMENTAL_BAR}) -> {'PASS' if ok else 'FAIL'}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
