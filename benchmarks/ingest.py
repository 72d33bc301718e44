"""Ingestion benchmark: the project's loader against plain DuckDB on the same landing files.

    .venv/bin/python benchmarks/ingest.py [--scale 1] [--repeat 2]

Baseline: for each feed, `create table as select * from read_csv([...its files...])` into a fresh DuckDB
file: no contract, no quarantine, no lineage, no log. Ours: `ingest_feed` for each feed into a fresh
DuckDB file, as `scm run` does (checks excluded: they run as separate asset checks). Each side runs in a
child process of its own so that its peak memory (max RSS) is its own. Both run `--repeat` times,
alternating, and the best time of each is compared, which damps a noisy shared machine.

Bar (issue #2): ratio <= 2.0, peak memory < 4 GiB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATIO_BAR = 2.0
MEMORY_BAR_GIB = 4.0


def _child(side: str, landing: Path, db: Path) -> None:
    """Run one side in this (child) process and print its timing and peak memory as JSON."""
    import resource
    from datetime import datetime

    import duckdb

    from pipelines.feeds.contract import FEEDS
    from pipelines.feeds.landing import scan

    con = duckdb.connect(str(db))
    rows = 0
    start = time.perf_counter()
    if side == "duckdb":
        for feed in FEEDS.values():
            files = [str(e.path) for e in scan(landing, feed.name) if not e.skip]
            con.execute(f"create table {feed.name} as select * from read_csv({files!r})")
            rows += con.execute(f"select count(*) from {feed.name}").fetchall()[0][0]
    else:
        from pipelines.feeds.ingest import ingest_feed

        for feed in FEEDS.values():
            result = ingest_feed(con, feed, landing, "bench", datetime.now())
            rows += result.total("rows_read")
    con.close()
    seconds = time.perf_counter() - start
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"side": side, "seconds": seconds, "rows": rows, "peak_gib": peak_gib}))


def _run_side(side: str, landing: Path, work: Path, attempt: int) -> dict:
    db = work / f"{side}-{attempt}.duckdb"
    done = subprocess.run(
        [sys.executable, __file__, "--child", side, "--landing", str(landing), "--db", str(db)],
        capture_output=True,
        text=True,
        check=True,
    )
    db.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--landing", type=Path, help="use these feeds instead of generating them")
    parser.add_argument("--child", choices=["duckdb", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.landing, args.db)
        return 0

    with tempfile.TemporaryDirectory(prefix="scm-bench-") as tmp:
        work = Path(tmp)
        landing = args.landing
        if landing is None:
            from pipelines.demo import generate

            landing = work / "landing"
            start = time.perf_counter()
            summary = generate(landing, scale=args.scale)
            print(
                f"generated scale {args.scale:g} in {time.perf_counter() - start:.1f} s: "
                f"{sum(summary.rows_written.values()):,} rows in {sum(summary.files_written.values()):,} files"
            )
        runs: dict[str, list[dict]] = {"duckdb": [], "ours": []}
        for attempt in range(args.repeat):
            for side in runs:
                runs[side].append(_run_side(side, landing, work, attempt))
        best = {side: min(r["seconds"] for r in rs) for side, rs in runs.items()}
        peak = {side: max(r["peak_gib"] for r in rs) for side, rs in runs.items()}
        rows = runs["ours"][0]["rows"]
        ratio = best["ours"] / best["duckdb"]
        print(f"rows read: {rows:,} (duckdb read {runs['duckdb'][0]['rows']:,})")
        for side in runs:
            times = ", ".join(f"{r['seconds']:.2f}" for r in runs[side])
            print(f"{side:>7}: best {best[side]:.2f} s ({times}); peak memory {peak[side]:.2f} GiB")
        ok = ratio <= RATIO_BAR and peak["ours"] < MEMORY_BAR_GIB
        print(
            f"ratio ours/duckdb: {ratio:.2f} (bar <= {RATIO_BAR}); peak memory {peak['ours']:.2f} GiB "
            f"(bar < {MEMORY_BAR_GIB:g}) -> {'PASS' if ok else 'FAIL'}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
