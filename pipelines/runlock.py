"""One writer at a time: a run holds an exclusive lock on `<data dir>/.run.lock` from start to end.

DuckDB allows one writing process per file; two runs started together would otherwise collide on the
warehouse (the second failing with a lock error part-way). With the lock, the second run waits for the
first and then runs on its result: runs queue. The lock is an OS file lock (flock), so a run killed
with SIGKILL releases it with its process; nothing stale is left to clean up. Dagster's own run queue
(`concurrency.runs.max_concurrent_runs: 1` in dagster.yaml) does the same for runs the daemon launches;
this lock also covers `scm run` beside them.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def run_lock(path: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the run lock file `path` (settings.Paths.run_lock); blocks while another run holds it (telling
    `on_wait` who does)."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if on_wait:
                on_wait(f"another run is writing {folder} ({holder}); waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
