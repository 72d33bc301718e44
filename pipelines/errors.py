"""Faults of the environment in one sentence: what happened and what to do.

A run can stop on something no code of ours and no retry fixes: the disk is full, the data directory is
read-only, this user may not write there, another process holds the warehouse file open. The Python
error behind it names a file and an errno, or is DuckDB's or sqlite's text for the same thing. `explain`
turns such an error (an exception, its cause chain, or the text Dagster recorded of one) into a `Fault`
with one line for the operator; `scm run` prints it instead of a traceback, and the I/O assets, decorated
with `retry_only_io_errors`, fail at once with it instead of retrying. `root_cause` picks the innermost
error of a recorded chain, so that a step that was retried reports what failed rather than `Exceeded
max_retries`.
"""

from __future__ import annotations

import errno
import functools
import inspect
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.settings import paths

DISK_FULL = "disk_full"
READ_ONLY = "read_only"
PERMISSION = "permission_denied"
WAREHOUSE_LOCKED = "warehouse_locked"

# Readers need nothing of the warehouse: what to tell someone who opened it to look at the data.
_READ_THE_SNAPSHOT = "to look at the data while a run writes, query the published snapshot with `scm sql`"
_SNAPSHOT_STAYS = "readers keep the last published snapshot"


@dataclass(frozen=True)
class Fault:
    kind: str  # one of the constants above
    message: str  # one line: what happened and what to do


# DuckDB: `Could not set lock on file "<path>": Conflicting lock is held in <program> (PID <n>) [by user <u>]`
_LOCK = re.compile(
    r'Could not set lock on file "(?P<path>[^"]+)": Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)'
)
# Python's OSError text: `[Errno 28] No space left on device: '<path>'`
_OS_ERROR = re.compile(r"\[Errno (?P<errno>\d+)\] [^:']+(?:: '(?P<path>[^']+)')?")
# DuckDB names the file in double quotes (`Could not write file "<path>": ...`, `Cannot open file "<path>"`).
_QUOTED_PATH = re.compile(r'file "(?P<path>[^"]+)"')

# errno -> kind, and the texts that mean the same where no errno is given (DuckDB, sqlite).
_ERRNO_KINDS = {errno.ENOSPC: DISK_FULL, errno.EDQUOT: DISK_FULL, errno.EROFS: READ_ONLY, errno.EACCES: PERMISSION}
_TEXT_KINDS = (
    ("no space left on device", DISK_FULL),
    ("disk quota exceeded", DISK_FULL),
    ("read-only file system", READ_ONLY),
    ("permission denied", PERMISSION),
)
# sqlite's texts: only Dagster's run history ($DAGSTER_HOME) is sqlite here, and sqlite names no file.
_SQLITE_KINDS = (("database or disk is full", DISK_FULL), ("attempt to write a readonly database", READ_ONLY))


def explain(error: BaseException | str) -> Fault | None:
    """The fault behind an exception (looked for along its cause chain) or an error text; None when it is
    not one this module knows."""
    if isinstance(error, str):
        return _from_text(error)
    for exc in _chain(error):
        if isinstance(exc, OSError) and exc.errno in _ERRNO_KINDS:
            return _sentence(_ERRNO_KINDS[exc.errno], exc.filename, _strerror(exc))
        fault = _from_text(f"{type(exc).__name__}: {exc}")
        if fault:
            return fault
    return None


def explain_info(info) -> Fault | None:
    """The same for an error as Dagster records it (a SerializableErrorInfo and its cause/context chain)."""
    for item in _info_chain(info):
        fault = _from_text(item.message or "")
        if fault:
            return fault
    return None


def root_cause(info) -> str:
    """One line for a recorded error: its fault sentence, else the innermost error of its cause chain (the
    user code's own error under Dagster's wrappers such as `Exceeded max_retries of 2`)."""
    fault = explain_info(info)
    if fault:
        return fault.message
    inner = info
    while inner.cause is not None:
        inner = inner.cause
    message = inner.message or ""
    if "Traceback (most recent call last)" in message:
        # An error raised in a worker process arrives as its whole traceback: the error is its last line.
        message = next((line for line in reversed(message.splitlines()) if line.strip(' "')), message)
    return one_line(message)


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def retry_only_io_errors(fn: Callable) -> Callable:
    """For an asset with a retry policy: retry only what a retry can clear, an I/O error that may pass (an
    OSError or DuckDB I/O error that is none of the faults above: a network share that hiccups, a file
    briefly busy). A fault fails the step at once with its sentence: a full disk or a read-only folder
    stays so for the seconds a retry waits, and every writer of the pipeline takes the run lock first, so
    the process holding the warehouse is not one of ours and does not let go on its own. Any other error
    (a bug, data the code did not expect) fails at once with its own message: the same code on the same
    files fails the same way again."""
    import dagster as dg
    import duckdb

    def _raise(exc: Exception):
        fault = explain(exc)
        if fault is not None:
            raise dg.Failure(description=fault.message, metadata={"fault": fault.kind}, allow_retries=False) from exc
        if isinstance(exc, OSError | duckdb.IOException):
            raise exc
        raise dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs) -> Iterator:
            try:
                yield from fn(*args, **kwargs)
            except dg.Failure:
                raise
            except Exception as exc:
                _raise(exc)

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except dg.Failure:
            raise
        except Exception as exc:
            _raise(exc)

    return wrapper


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        # Dagster wraps user code's error (DagsterUserCodeExecutionError.user_exception).
        todo += [getattr(current, "user_exception", None), current.__cause__, current.__context__]


def _info_chain(info) -> Iterator:
    todo = [info]
    while todo:
        current = todo.pop(0)
        if current is None:
            continue
        yield current
        todo += [current.cause, current.context]


def _strerror(exc: OSError) -> str:
    return exc.strerror or os.strerror(exc.errno or 0)


def _from_text(text: str) -> Fault | None:
    lock = _LOCK.search(text)
    if lock:
        return _locked(lock["path"], int(lock["pid"]), lock["program"])
    os_error = _OS_ERROR.search(text)
    if os_error and int(os_error["errno"]) in _ERRNO_KINDS:
        code = int(os_error["errno"])
        return _sentence(_ERRNO_KINDS[code], os_error["path"], os.strerror(code))
    lowered = text.lower()
    run_history = paths().dagster_home
    for needle, kind in _SQLITE_KINDS:
        if needle in lowered:
            return _sentence(kind, run_history, needle)
    if "unable to open database file" in lowered:
        # sqlite says no more; the folder it could not write says why.
        return _unwritable(run_history)
    for needle, kind in _TEXT_KINDS:
        if needle in lowered:
            quoted = _QUOTED_PATH.search(text)
            return _sentence(kind, quoted["path"] if quoted else None, needle)
    return None


def _unwritable(folder: Path) -> Fault | None:
    """The fault that keeps this process from writing into `folder`, if any."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return _sentence(READ_ONLY, folder, "read-only file system")
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return _sentence(PERMISSION, folder, "permission denied")
    return None


def _sentence(kind: str, path: str | os.PathLike | None, what: str) -> Fault:
    where = f" {path}" if path else ""
    what = what[0].upper() + what[1:]
    if kind == DISK_FULL:
        folder = f" holding {Path(path).parent}" if path else ""
        text = (
            f"the disk is full: could not write{where} ({what}); free space on the disk{folder} (or point "
            f"SCM_DATA_DIR at a larger one) and run again; {_SNAPSHOT_STAYS}"
        )
    elif kind == READ_ONLY:
        text = (
            f"the data directory is read-only: could not write{where} ({what}); make it writable (or point "
            f"SCM_DATA_DIR at a writable folder) and run again; {_SNAPSHOT_STAYS}"
        )
    else:
        text = (
            f"permission denied on{where or ' a file'} for user {_user()}: give this user access to it (or run "
            f"scm as its owner) and run again; {_SNAPSHOT_STAYS}"
        )
    return Fault(kind, text)


def _locked(path: str, pid: int, program: str) -> Fault:
    return Fault(
        WAREHOUSE_LOCKED,
        f"another process holds the warehouse {path} open: PID {pid} ({process_description(pid, program)}); "
        f"close it and run again; {_READ_THE_SNAPSHOT}",
    )


def process_description(pid: int, fallback: str = "") -> str:
    """The command line of a local process, shortened (DuckDB names only the program), else the fallback."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return fallback or "a process that has exited since"
    args = [a for a in raw.decode(errors="replace").split("\0") if a]
    if not args:
        return fallback
    return one_line(" ".join([Path(args[0]).name, *args[1:]]), limit=80)


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())
