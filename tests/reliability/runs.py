"""Helpers of the tests that run `scm run` as a process on a copy of the built world (crashes, concurrency):
the next days' files to drop, the marts compared with a clean run, and a handle on a running `scm run`
(its output, its processes, killing it)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

SCM = Path(sys.executable).with_name("scm")
NEW_DAYS = 7

# Marts compared with a clean run, and the columns that name the run that made them.
COMPARED = ("kpi_monthly", "fct_order_lines", "fct_orders", "kpi_fulfilment_monthly", "replenishment")
RUN_COLUMNS = ("_loaded_at", "_last_loaded_at", "_load_id", "forecast_run_id")


def world_env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "SCM_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(data_dir / "dagster_home")}


def drop_next_days(landing: Path, world, first: int = 0, days: int = NEW_DAYS) -> None:
    """Days first .. first + days - 1 of the NEW_DAYS days after the built world's, of the same generated
    business, into a landing folder (the generator writes a day's files the same whatever range it runs)."""
    from pipelines.demo import generate

    start = world.start + timedelta(days=world.days + first)
    generate(landing, scale=0.01, days=min(days, NEW_DAYS - first), seed=world.seed, start=start)


def published_marts(data_dir: Path) -> dict[str, pl.DataFrame]:
    """The compared marts as the published snapshot holds them, sorted, without run-specific columns."""
    name = (data_dir / "snapshots" / "CURRENT").read_text().strip()
    con = duckdb.connect(str(data_dir / "snapshots" / name), read_only=True)
    try:
        out = {}
        for table in COMPARED:
            frame = con.sql(f"select * from marts.{table}").pl()
            frame = frame.drop([c for c in RUN_COLUMNS if c in frame.columns])
            out[table] = frame.sort(frame.columns, nulls_last=True)
        return out
    finally:
        con.close()


def assert_same_marts(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    """Every value equal, floats to the last bits: DuckDB sums doubles in the order rows lie in, and that
    order follows the loads (tests/reliability/test_replay.py says more)."""
    for table in COMPARED:
        assert got[table].height > 0, table
        try:
            assert_frame_equal(got[table], want[table], check_exact=False, rel_tol=1e-12, abs_tol=1e-12)
        except AssertionError as exc:
            raise AssertionError(f"marts.{table}: {exc}") from None


class ScmRun:
    """`scm run` started as a process group of its own, with its output read as it comes (threads)."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [str(SCM), "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(s, b), daemon=True)
            for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def output(self) -> str:
        return "".join(self.out) + "".join(self.err)

    def processes(self) -> dict[int, str]:
        """pid -> command line of every live process in the run's group (the run, dbt, forecast workers).
        A zombie is dead (killed, its parent gone, not yet reaped by init): not counted."""
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.getpgid(int(entry)) != self.proc.pid:
                    continue
                if Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
                found[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, ProcessLookupError):
                continue  # gone meanwhile
        return found

    @staticmethod
    def has_open(pid: int, path: Path) -> bool:
        try:
            return any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            return False

    def wait_for(self, what: str, condition: Callable[[], bool], timeout: float = 300) -> None:
        """Poll until the condition holds; fail (with the run's output) if the run ends or time runs out."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"scm run ended (exit {self.proc.returncode}) before {what}:\n{self.output()[-3000:]}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"no {what} after {timeout}s:\n{self.output()[-3000:]}")
            time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL the whole group: the run and every process it started (dbt, workers, log tails)."""
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        for reader in self.readers:
            reader.join(timeout=10)
        # SIGKILL is delivered at once, but a killed child of the group takes a moment to be torn down (its
        # memory released, its command line already empty): wait for that, so that what is left is a leak.
        deadline = time.monotonic() + 10
        while self.processes() and time.monotonic() < deadline:
            time.sleep(0.05)

    def wait(self, timeout: float = 1200) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        for reader in self.readers:
            reader.join(timeout=10)
        return code
