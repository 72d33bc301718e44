"""Publishing the snapshot: built copy-on-write on the previous one, against a full build, on one warehouse.

    .venv/bin/python benchmarks/snapshot.py --data-dir DIR [--previous SNAPSHOT] [--repeat 3]

DIR is a data directory a `scm run` has built; its warehouse is opened read-only and left as it is, and
the snapshots are published into a temporary folder (pipelines/snapshot.py says how a publish works):

1. full: a publish with no previous snapshot, every table written.
2. unchanged: a publish on the previous one with nothing changed: the floor a copy-on-write publish
   pays (the file copy, a fingerprint of every table, the bookkeeping).
3. day: a publish on SNAPSHOT, an earlier snapshot of the same warehouse (default: the one DIR's
   snapshots folder kept beside the current one, i.e. what the run before the last published): what the
   last run's publish costs copy-on-write. SNAPSHOT's bookkeeping is recomputed from its own tables
   first, so a snapshot of an older format serves too.

Each is the median of `--repeat` publishes. Printed: seconds, tables written (patched in place) and kept,
file size, and each copy-on-write publish as a ratio of the full one; then the parts of the floor (the
file copy, the fingerprints). Issue 16 asks the one-day run to cost what changed: the ratio of 3 is that
for the snapshot step.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def warehouse_connection(warehouse: Path):
    """The warehouse, read-only (a run may not be writing it meanwhile), as the current database of a
    connection that may attach the snapshot for writing."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as warehouse (read_only)")
    con.execute("use warehouse")
    return con


def as_previous(source: Path, target: Path) -> None:
    """A copy of the snapshot `source` at `target` with the bookkeeping this code's publish would have
    written with it: every table's fingerprint, the format and DuckDB version."""
    import shutil

    import duckdb

    from pipelines import snapshot

    shutil.copyfile(source, target)
    with duckdb.connect(str(target)) as con:
        tables = con.sql(
            "select table_schema, table_name from information_schema.tables where table_schema in "
            "('marts', 'forecast', 'meta') and not (table_schema = 'meta' and list_contains($own, table_name))",
            params={"own": list(snapshot.BOOKKEEPING)},
        ).fetchall()
        rows = [(s, t, snapshot.fingerprint(con, f'{s}."{t}"'), "previous", 0) for s, t in tables]
        con.execute(
            "create or replace table meta.published_tables (schema_name varchar, table_name varchar, "
            "fingerprint varchar, written_by varchar, rows_deleted_since bigint)"
        )
        con.executemany("insert into meta.published_tables values (?, ?, ?, ?, ?)", rows)
        con.execute("alter table meta.snapshot add column if not exists format integer")
        con.execute("alter table meta.snapshot add column if not exists duckdb_version varchar")
        con.execute("update meta.snapshot set format = ?, duckdb_version = ?", [snapshot.FORMAT, duckdb.__version__])


def timed_publish(con, run_id: str):
    """(seconds, what was published, its file's size in MiB: the file goes two publishes later)."""
    from pipelines import snapshot

    started = time.perf_counter()
    published = snapshot.publish(con, run_id=run_id)
    return time.perf_counter() - started, published, published.path.stat().st_size / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--previous", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warehouse = (args.data_dir / "warehouse.duckdb").resolve()
    if not warehouse.is_file():
        raise SystemExit(f"no warehouse in {args.data_dir}: run `scm run` there first")
    folder = args.data_dir / "snapshots"
    previous = args.previous
    if previous is None:
        current = (folder / "CURRENT").read_text().strip() if (folder / "CURRENT").exists() else None
        others = sorted(p for p in folder.glob("*.duckdb") if p.name != current)
        previous = others[-1] if others else None

    with tempfile.TemporaryDirectory(prefix="snapshot-bench-") as tmp:
        os.environ["SCM_DATA_DIR"] = tmp  # where the snapshots go; the warehouse is the connection's
        from pipelines import snapshot

        snapshots = Path(tmp) / "snapshots"
        base = Path(tmp) / "previous.duckdb"
        if previous is not None:
            as_previous(previous, base)
        con = warehouse_connection(warehouse)
        results: dict[str, list] = {"full": [], "unchanged": [], "day": []}
        for i in range(args.repeat):
            for old in snapshots.glob("*"):  # no previous snapshot: a full build
                old.unlink()
            results["full"].append(timed_publish(con, f"full-{i}"))
            results["unchanged"].append(timed_publish(con, f"unchanged-{i}"))
            if previous is not None:
                for old in snapshots.glob("*"):
                    old.unlink()
                shutil.copyfile(base, snapshots / "00000000T000000000000-previous.duckdb")
                (snapshots / "CURRENT").write_text("00000000T000000000000-previous.duckdb\n")
                results["day"].append(timed_publish(con, f"day-{i}"))

        # The parts of the floor, once: the file copy, and the fingerprint of every table.
        current = snapshot.current_path()
        started = time.perf_counter()
        how = snapshot._copy_file(current, Path(tmp) / "copy.duckdb")
        copy_s = time.perf_counter() - started
        started = time.perf_counter()
        sources = snapshot._sources(con)
        for source in sources:
            snapshot.fingerprint(con, source.relation)
        fingerprint_s = time.perf_counter() - started
        con.close()

        full_s = statistics.median(r[0] for r in results["full"])
        print(f"warehouse {warehouse} ({warehouse.stat().st_size / 2**20:.0f} MiB), {len(sources)} published tables")
        print(f"day: on {previous}" if previous else "day: no previous snapshot in DIR (pass --previous)")
        print(f"{'publish':<12}{'seconds':>9}{'written':>9}{'patched':>9}{'kept':>6}{'MiB':>8}{'x full':>8}  build")
        for label, runs in results.items():
            if not runs:
                continue
            seconds = statistics.median(r[0] for r in runs)
            _, published, size = runs[-1]
            build = published.build
            print(
                f"{label:<12}{seconds:>9.2f}{len(build.written):>9}{len(build.patched):>9}{len(build.kept):>6}"
                f"{size:>8.1f}{seconds / full_s:>8.2f}  {build.kind}{f' ({build.why_full})' if build.why_full else ''}"
            )
        if results["day"]:
            build = results["day"][-1][1].build
            print(
                "day wrote:",
                ", ".join(f"{s}.{t}{' (patched)' if (s, t) in build.patched else ''}" for s, t in build.written),
            )
        print(f"floor parts: file copy {copy_s:.2f} s ({how}), fingerprints of every table {fingerprint_s:.2f} s")


if __name__ == "__main__":
    main()
