"""Publishing the snapshot: built copy-on-write on the previous one, against a full build, on one warehouse.

    .venv/bin/python benchmarks/snapshot.py --data-dir DIR [--changed marts,meta] [--repeat 3]

DIR is a data directory a `scm run` has built; its warehouse is opened read-only and left as it is, and
the snapshots are published into a temporary folder (pipelines/snapshot.py says how a publish works):

1. full: a publish with no previous snapshot, every table written.
2. unchanged: a publish on the previous one with nothing changed: the floor a copy-on-write publish
   pays (the file copy, a fingerprint of every table, the bookkeeping).
3. a day's change: before the publish, the previous snapshot's fingerprints of the `--changed` tables
   (schemas or schema.table, default every table of `marts` and `meta`: what a refresh run without a
   forecast refit can change) are marked stale, so those tables are written again and the rest kept.

Each is the median of `--repeat` publishes. Printed: seconds, tables written, file size, and each
copy-on-write publish as a ratio of the full one; then the parts of the floor (the file copy, the
fingerprints). Issue 16 asks the one-day run to cost what changed: the ratio of 3 is that for the
snapshot step.
"""

from __future__ import annotations

import argparse
import os
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


def mark_stale(path: Path, changed: list[str]) -> int:
    """Make the snapshot at `path` claim the `changed` tables differ from the warehouse; returns how many."""
    import duckdb

    schemas = [c for c in changed if "." not in c]
    tables = [c for c in changed if "." in c]
    with duckdb.connect(str(path)) as con:
        con.execute(
            "update meta.published_tables set fingerprint = 'stale' "
            "where list_contains($s, schema_name) or list_contains($t, schema_name || '.' || table_name)",
            {"s": schemas, "t": tables},
        )
        return con.sql("select count(*) from meta.published_tables where fingerprint = 'stale'").fetchall()[0][0]


def timed_publish(con, run_id: str):
    """(seconds, what was published, its file's size in MiB: the file goes two publishes later)."""
    from pipelines import snapshot

    started = time.perf_counter()
    published = snapshot.publish(con, run_id=run_id)
    return time.perf_counter() - started, published, published.path.stat().st_size / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--changed", default="marts,meta")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    warehouse = (args.data_dir / "warehouse.duckdb").resolve()
    if not warehouse.is_file():
        raise SystemExit(f"no warehouse in {args.data_dir}: run `scm run` there first")
    changed = [c.strip() for c in args.changed.split(",") if c.strip()]

    with tempfile.TemporaryDirectory(prefix="snapshot-bench-") as tmp:
        os.environ["SCM_DATA_DIR"] = tmp  # where the snapshots go; the warehouse is the connection's
        from pipelines import snapshot

        con = warehouse_connection(warehouse)
        results: dict[str, list[tuple[float, snapshot.SnapshotInfo, float]]] = {"full": [], "unchanged": [], "day": []}
        for i in range(args.repeat):
            for old in (Path(tmp) / "snapshots").glob("*"):  # no previous snapshot: a full build
                old.unlink()
            results["full"].append(timed_publish(con, f"full-{i}"))
            results["unchanged"].append(timed_publish(con, f"unchanged-{i}"))
            stale = mark_stale(snapshot.current_path(), changed)
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
        print(f"{'publish':<12}{'seconds':>9}{'written':>9}{'kept':>6}{'MiB':>8}{'x full':>8}  build")
        for label, runs in results.items():
            seconds = statistics.median(r[0] for r in runs)
            _, published, size = runs[-1]
            build = published.build
            print(
                f"{label:<12}{seconds:>9.2f}{len(build.written):>9}{len(build.kept):>6}{size:>8.1f}"
                f"{seconds / full_s:>8.2f}  {build.kind}{f' ({build.why_full})' if build.why_full else ''}"
            )
        print(f"'day' marked {stale} tables stale ({', '.join(changed)})")
        print(f"floor parts: file copy {copy_s:.2f} s ({how}), fingerprints of every table {fingerprint_s:.2f} s")


if __name__ == "__main__":
    main()
