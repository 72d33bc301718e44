"""Faults of the environment stop a run with one clear line, and the next run recovers.

A full disk, a read-only data directory and another process holding the warehouse open each make `scm
run` exit 1 with one line on stderr saying what happened and what to do (pipelines/errors.py), never a
traceback; the published snapshot stays as it was. The faults are real, not patched in:
- the warehouse held open: a child process keeps `duckdb.connect(warehouse)` open;
- read-only: the data directory bind-mounted read-only in a private mount namespace (`unshare -m`);
  the tests run as root, whom a chmod does not stop;
- disk full: the data directory copied onto a tmpfs filled to its last page, in a private mount
  namespace, with Dagster's run history left on the real disk so that DuckDB is what cannot write; the
  state the failed run leaves is copied back for the next run.
Where this machine cannot mount (no CAP_SYS_ADMIN), the two mount cases are skipped.

The faults run one after another on one copy of the built world, and the run that follows them also
carries a valid but wrong row: a return of 50,000 units loaded (by an earlier load) before its order
line, which arrives in this run and turns out to have shipped a handful. The ingest rules cannot refuse
the return (its line was unknown when it came), so the month's return_rate_units goes past 1: the dbt
test on KPI rates warns, names the row, and the snapshot is published anyway.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import errors
from tests.reliability.runs import SCM, drop_next_days, world_env

LATE_RETURN_UNITS = 50_000
FAST_RUN_TIMEOUT = 300


def _can_mount(tmp: Path) -> bool:
    target = tmp / "mount-probe"
    target.mkdir()
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {target}"], capture_output=True
    )
    return probe.returncode == 0


def _scm_run(env: dict[str, str], prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*(prefix or []), str(SCM), "run"], env=env, capture_output=True, text=True, timeout=FAST_RUN_TIMEOUT
    )


def _current(data: Path) -> str:
    return (data / "snapshots" / "CURRENT").read_text().strip()


def _late_line(landing: Path) -> dict:
    """A delivered order line of the world, under a new order id: the line the late return refers to."""
    orders = pl.concat(
        [pl.read_csv(p, infer_schema=False) for p in sorted((landing / "orders").glob("*.csv"))], how="diagonal"
    )
    line = orders.filter(pl.col("status") == "delivered").sort("order_id").row(0, named=True)
    return {**line, "order_id": line["order_id"][:12] + "999999"}


def _write_csv(rows: list[dict], path: Path) -> None:
    pl.DataFrame(rows).write_csv(path)


def _load_late_return(data: Path, line: dict) -> None:
    """A return of LATE_RETURN_UNITS units on `line`, loaded by the loader as a run before this one would,
    while the line is not in the warehouse yet (so no rule can compare it with what shipped)."""
    from pipelines.feeds.contract import FEEDS
    from pipelines.feeds.ingest import ingest_feed

    requested = (datetime.fromisoformat(line["delivered_ts"]) + timedelta(days=1)).isoformat()
    returns = data / "landing" / "returns"
    template = pl.read_csv(next(returns.glob("*.csv")), infer_schema=False).columns
    row = {c: None for c in template} | {
        "return_id": f"RMA-LATE-{line['order_id']}",
        "order_id": line["order_id"],
        "line_number": line["line_number"],
        "sku": line["sku"],
        "requested_ts": requested,
        "quantity_returned": str(LATE_RETURN_UNITS),
        "reason_code": "damaged",
        "refund_amount": "1.00",
        "updated_at": requested,
    }
    _write_csv([row], returns / "late-return.csv")
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        result = ingest_feed(
            con, FEEDS["returns"], data / "landing", load_id="late-return", now=datetime.now(UTC).replace(tzinfo=None)
        )
    assert result.total("rows_loaded") == 1, result


DISK_FULL_SCRIPT = """
set -e
mount -t tmpfs -o size="$SIZE"m tmpfs "$MNT"
cp -a "$DATA"/. "$MNT"/
rm -rf "$MNT/dagster_home"
# The run lock file keeps its page, so that the run lock is taken and DuckDB is the first to need space.
printf 'pid 0\\n' > "$MNT/.run.lock"
dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null || true
set +e
SCM_DATA_DIR="$MNT" DAGSTER_HOME="$DATA/dagster_home" "$SCM" run > "$OUT/stdout" 2> "$OUT/stderr"
echo $? > "$OUT/returncode"
rm "$MNT/filler"
cp -a "$MNT"/. "$DATA"/
"""


@pytest.fixture(scope="module")
def faults(built_world, tmp_path_factory) -> dict:
    """The built world through each fault in turn, then one ordinary `scm run`: every run's outcome."""
    tmp = tmp_path_factory.mktemp("faults")
    data = tmp / "world"
    shutil.copytree(built_world.data_dir, data)
    env = world_env(data)
    out: dict = {"data": data, "mountable": _can_mount(tmp), "snapshot_before": _current(data)}

    line = _late_line(data / "landing")
    _load_late_return(data, line)
    _write_csv([line], data / "landing" / "orders" / "late-line.csv")
    out["late_month"] = line["order_ts"][:7]
    drop_next_days(data / "landing", built_world, days=1)

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print(1, flush=True); time.sleep(600)",
            str(data / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        holder.stdout.readline()
        out["locked"] = _scm_run(env)
        out["holder_pid"] = holder.pid
    finally:
        holder.kill()
        holder.wait()
    out["snapshot_after_locked"] = _current(data)

    if out["mountable"]:
        read_only = [
            "unshare",
            "-m",
            "sh",
            "-c",
            f'mount --bind "{data}" "{data}" && mount -o remount,bind,ro "{data}" && exec "$0" "$@"',
        ]
        out["read_only"] = _scm_run(env, prefix=read_only)

        mnt, result = tmp / "full", tmp / "full-run"
        mnt.mkdir()
        result.mkdir()
        # Room for the world (without Dagster's run history, left on the real disk) and some to fill.
        size_mb = sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) // 2**20 + 32
        script = {"MNT": str(mnt), "DATA": str(data), "OUT": str(result), "SCM": str(SCM), "SIZE": str(size_mb)}
        subprocess.run(["unshare", "-m", "sh", "-c", DISK_FULL_SCRIPT], env={**env, **script}, check=True, timeout=600)
        out["disk_full"] = subprocess.CompletedProcess(
            ["scm", "run"],
            int((result / "returncode").read_text()),
            (result / "stdout").read_text(),
            (result / "stderr").read_text(),
        )
        out["snapshot_after_faults"] = _current(data)

    # What the new-files sensor would start next: the `refresh` job (everything but refitting the forecast).
    out["recovered"] = subprocess.run(
        [str(SCM), "run", "--job", "refresh"], env=env, capture_output=True, text=True, timeout=1200
    )
    return out


def assert_one_clear_line(run: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit status 1, no traceback, and exactly one line on stderr with all the needles; that line."""
    output = run.stdout + run.stderr
    assert run.returncode == 1, output[-3000:]
    assert "Traceback" not in output and "Stack Trace" not in output, output[-3000:]
    lines = [line for line in run.stderr.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, (needles, run.stderr[-3000:])
    return lines[0]


def test_warehouse_held_by_another_process_names_it_and_points_to_scm_sql(faults):
    data = faults["data"]
    line = assert_one_clear_line(
        faults["locked"],
        "another process holds the warehouse",
        str(data / "warehouse.duckdb"),
        f"PID {faults['holder_pid']}",
        "python",
        "scm sql",
    )
    assert line.startswith("run failed at raw/")  # the steps it stopped, not `Exceeded max_retries`
    assert faults["snapshot_after_locked"] == faults["snapshot_before"]


def test_read_only_data_directory_is_one_line(faults):
    if not faults["mountable"]:
        pytest.skip("no mount namespace here (needs CAP_SYS_ADMIN)")
    assert_one_clear_line(faults["read_only"], "read-only", str(faults["data"]), "SCM_DATA_DIR")


def test_disk_full_while_duckdb_writes_is_one_line_and_the_snapshot_stays(faults):
    if not faults["mountable"]:
        pytest.skip("no mount namespace here (needs CAP_SYS_ADMIN)")
    assert_one_clear_line(faults["disk_full"], "the disk is full", "warehouse.duckdb", "No space left on device")
    assert faults["snapshot_after_faults"] == faults["snapshot_before"]


def test_the_next_run_recovers_and_loads_what_the_failed_runs_could_not(faults):
    run, data = faults["recovered"], faults["data"]
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    run_id = run.stdout.split()[1].rstrip(":")
    assert _current(data) != faults["snapshot_before"]
    with duckdb.connect(str(data / "snapshots" / _current(data)), read_only=True) as con:
        assert con.sql("select run_id from meta.snapshot").fetchall() == [(run_id,)]
        loaded = con.sql(
            "select count(*) from meta.ingest_log where file like '%late-line.csv' and status = 'loaded'"
        ).fetchall()
    assert loaded == [(1,)]


def test_a_valid_but_wrong_row_warns_names_the_kpi_row_and_the_snapshot_publishes(faults):
    run, data = faults["recovered"], faults["data"]
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    checks = [line.strip() for line in run.stdout.splitlines() if line.startswith(("  WARN", "  ERROR"))]
    assert not [c for c in checks if c.startswith("ERROR")], checks
    warned = [c for c in checks if "marts/kpi_monthly kpi_monthly_rates_between_0_and_1" in c]
    assert len(warned) == 1, run.stdout
    assert "1 failing row," in warned[0] and "dbt_test_failures.kpi_monthly_rates_between_0_and_1" in warned[0]
    assert f"month={faults['late_month']}" in warned[0] and "kpi=return_rate_units" in warned[0]
    # The row is published as it is (excluded from nothing), and the stored failures are not.
    with duckdb.connect(str(data / "snapshots" / _current(data)), read_only=True) as con:
        (rate,) = con.sql(
            f"select value from marts.kpi_monthly where kpi = 'return_rate_units' "
            f"and strftime(month, '%Y-%m') = '{faults['late_month']}'"
        ).fetchall()[0]
        schemas = {s for (s,) in con.sql("select schema_name from information_schema.schemata").fetchall()}
    assert rate > 1
    assert "dbt_test_failures" not in schemas
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        stored = con.sql("select kpi, value from dbt_test_failures.kpi_monthly_rates_between_0_and_1").fetchall()
    assert stored == [("return_rate_units", rate)]


SNAPSHOT_COPY_SCRIPT = """
import json, os, shutil, subprocess, sys, tempfile
from pathlib import Path

data = Path(sys.argv[1])
os.environ["SCM_DATA_DIR"] = str(data)
import duckdb
from pipelines import snapshot
from pipelines.errors import explain

snaps = data / "snapshots"
keep = Path(tempfile.mkdtemp())
shutil.copytree(snaps, keep / "s")
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(snaps)], check=True)
shutil.copytree(keep / "s", snaps, dirs_exist_ok=True)
con = duckdb.connect(str(data / "warehouse.duckdb"))
try:
    snapshot.publish(con, run_id="second-run")
    outcome = {"published": True}
except Exception as exc:
    fault = explain(exc)
    reader = snapshot.connect()
    outcome = {
        "fault": fault and fault.kind,
        "message": fault and fault.message,
        "current": (snaps / "CURRENT").read_text().strip(),
        "readable": reader.sql("select run_id from meta.snapshot").fetchall()[0][0],
    }
print(json.dumps(outcome))
"""


def test_disk_full_during_the_snapshot_copy_is_one_line_and_the_old_snapshot_stays(tmp_path, monkeypatch):
    """Real: the snapshots folder is a 4 MB tmpfs (a private mount namespace) when the copy needs more."""
    if not _can_mount(tmp_path):
        pytest.skip("no mount namespace here (needs CAP_SYS_ADMIN)")
    from pipelines import snapshot

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("SCM_DATA_DIR", str(data))
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        con.execute("create schema marts")
        con.execute("create table marts.small as select 1 as n")
        first = snapshot.publish(con, run_id="first-run")
        # Hex digests compress little: far more than the 4 MB the snapshot folder will have.
        con.execute(
            "create table marts.big as select md5(range::varchar) || md5((-range)::varchar) s from range(300000)"
        )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        ["unshare", "-m", sys.executable, "-c", textwrap.dedent(SNAPSHOT_COPY_SCRIPT), str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["fault"] == errors.DISK_FULL, outcome
    assert "the disk is full" in outcome["message"] and ".partial" in outcome["message"], outcome
    assert outcome["current"] == first.path.name and outcome["readable"] == "first-run"
    # The next publish, with room again, replaces it.
    with duckdb.connect(str(data / "warehouse.duckdb")) as con:
        second = snapshot.publish(con, run_id="second-run")
    assert snapshot.current_path() == second.path


@pytest.mark.parametrize(
    ("error", "kind", "needles"),
    [
        (
            'IO Error: Could not set lock on file "/d/warehouse.duckdb": Conflicting lock is held in '
            "/usr/bin/python3.11 (PID 4242). See also https://duckdb.org/docs/current/connect/concurrency",
            errors.WAREHOUSE_LOCKED,
            ["/d/warehouse.duckdb", "PID 4242", "scm sql"],
        ),
        (
            'TransactionContext Error: Failed to commit: Could not write file "/d/warehouse.duckdb.wal": '
            "No space left on device",
            errors.DISK_FULL,
            ["/d/warehouse.duckdb.wal", "free space", "/d "],
        ),
        (OSError(28, "No space left on device", "/d/snapshots/x.partial"), errors.DISK_FULL, ["/d/snapshots/x"]),
        ("(sqlite3.OperationalError) database or disk is full", errors.DISK_FULL, ["the disk is full"]),
        (OSError(30, "Read-only file system", "/d/logs/run.log"), errors.READ_ONLY, ["/d/logs/run.log", "writable"]),
        ('IO Error: Cannot open file "/d/w.duckdb": Read-only file system', errors.READ_ONLY, ["/d/w.duckdb"]),
        ("(sqlite3.OperationalError) attempt to write a readonly database", errors.READ_ONLY, ["read-only"]),
        (PermissionError(13, "Permission denied", "/d/warehouse.duckdb"), errors.PERMISSION, ["/d/warehouse.duckdb"]),
    ],
)
def test_each_fault_is_named_from_its_error(error, kind, needles):
    fault = errors.explain(error)
    assert fault is not None and fault.kind == kind
    assert "\n" not in fault.message and all(n in fault.message for n in needles), fault.message


def test_a_fault_is_found_under_the_errors_that_wrap_it():
    try:
        try:
            raise OSError(28, "No space left on device", "/d/x")
        except OSError as inner:
            raise RuntimeError("step failed") from inner
    except RuntimeError as outer:
        assert errors.explain(outer).kind == errors.DISK_FULL
    assert errors.explain(ValueError("unable to find column")) is None


def test_an_error_from_a_worker_process_is_its_last_line_not_its_traceback():
    """The forecast fits series in a process pool: its error arrives as the worker's whole traceback."""
    from types import SimpleNamespace

    remote = '\n"""\nTraceback (most recent call last):\n  File "x.py", line 1, in f\n'
    remote += 'ValueError: need at least one array\n"""'
    inner = SimpleNamespace(message=remote, cause=None, context=None)
    info = SimpleNamespace(message="Exceeded max_retries of 1", cause=inner, context=None)
    assert errors.root_cause(info) == "ValueError: need at least one array"
