"""What is in a feed's landing folder: the files to load, the entries that are not feed files (each with the
reason it is skipped), and whether a file is still being written.

A file is identified by its path, size, modification time, change time and inode: a file rewritten in
place, or replaced by another one (`mv` over it), is a new delivery even when size and mtime came out the
same. The sensor (pipelines/automation.py) and the loader (pipelines/feeds/ingest.py) both go by this.

A folder's profile (`_profile.yml`) is no entry: it is left out of the scan, not logged. A folder that has
one also loads the formats a profile reads (`PROFILE_SUFFIXES`: Excel workbooks, tab-separated text).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.feeds.profile import PROFILE_FILE, has_profile

SUFFIXES = (".csv", ".csv.gz", ".parquet")
# What a folder with a profile (`_profile.yml`, pipelines/feeds/profile.py) loads too: the formats a profile reads.
PROFILE_SUFFIXES = (".xlsx", ".tsv", ".tsv.gz", ".txt", ".txt.gz")
# What downloaders and copy tools write while a file is on its way; the finished file gets its real name.
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")

# Why an entry of a feed folder is not loaded (raw.ingest_log's reject_reason for status `skipped`).
SKIP_REASONS = {
    "directory": "a folder: a feed's files are read from its folder itself, not from subfolders",
    "unsupported": "not a .csv, .csv.gz or .parquet file",
    "temporary": "a temporary or hidden file (a download or copy still on its way, or an editor's file)",
    "broken_link": "a symbolic link to nothing",
    "not_a_file": "not a regular file (a pipe, socket or device)",
}


@dataclass(frozen=True)
class Entry:
    path: Path
    rel: str  # relative to the landing folder, as the raw layer records it
    size: int | None = None
    modified_ns: int | None = None
    changed_ns: int | None = None
    inode: int | None = None
    skip: str | None = None  # a key of SKIP_REASONS, for an entry that is not loaded

    @property
    def identity(self) -> tuple:
        return (self.rel, self.size, self.modified_ns, self.changed_ns, self.inode)


def scan(landing: Path, feed: str) -> list[Entry]:
    """Every entry of `<landing>/<feed>/`, in name order (the order its files load in); a vanished entry
    (deleted while the folder was listed) is left out, and so is the folder's profile (no feed file: it says
    how the others are read)."""
    folder = landing / feed
    if not folder.is_dir():
        return []
    out = []
    suffixes = _suffixes(folder)
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name == PROFILE_FILE:
            continue
        entry = _entry(path, path.relative_to(landing).as_posix(), suffixes)
        if entry is not None:
            out.append(entry)
    return out


def _suffixes(folder: Path) -> tuple[str, ...]:
    return SUFFIXES + PROFILE_SUFFIXES if has_profile(folder) else SUFFIXES


def _entry(path: Path, rel: str, suffixes: tuple[str, ...] = SUFFIXES) -> Entry | None:
    try:
        st = path.stat()  # follows a symbolic link: a link to a feed file loads like the file
    except FileNotFoundError:
        return Entry(path, rel, skip="broken_link") if path.is_symlink() else None
    except OSError:
        return Entry(path, rel, skip="not_a_file")
    entry = Entry(path, rel, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    name = path.name.lower()
    if stat.S_ISDIR(st.st_mode):
        skip = "directory"
    elif not stat.S_ISREG(st.st_mode):
        skip = "not_a_file"
    elif name.startswith((".", "~$")) or name.endswith(TEMPORARY_SUFFIXES):
        skip = "temporary"
    elif not name.endswith(suffixes):
        skip = "unsupported"
    else:
        return entry
    return Entry(path, rel, entry.size, entry.modified_ns, entry.changed_ns, entry.inode, skip=skip)


def restat(entry: Entry) -> Entry | None:
    """The entry as it is now (None once it has gone). Its name was judged when the folder was scanned and has
    not changed: only its identity is looked at again (no second read of the folder's profile)."""
    return _entry(entry.path, entry.rel, SUFFIXES + PROFILE_SUFFIXES)


def wait_until_settled(
    entries: list[Entry],
    settle_seconds: float,
    on_wait: Callable[[str], None] | None = None,
    max_wait_seconds: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[Entry], list[Entry]]:
    """(settled, still changing): each file as it is once unchanged for `settle_seconds`.

    A file modified within the last `settle_seconds`, or one that changes while it is watched, may still be
    being copied in: read now, its last row would be cut short and load as a wrong value. So the files are
    watched until each has kept its size and times for the interval, saying which ones are awaited. Files
    that are still changing after `max_wait_seconds` (default: ten intervals) are returned apart, for a
    later run. A vanished file is dropped.
    """
    if settle_seconds <= 0 or not entries:
        return entries, []
    limit = clock() + (max_wait_seconds if max_wait_seconds is not None else 10 * settle_seconds)
    current = {e.rel: e for e in entries}
    start = clock()
    # A modification time in the future (a clock elsewhere ahead of ours) counts from now.
    quiet_since = {e.rel: min(e.modified_ns / 1e9, start) for e in entries}
    announced: set[str] = set()
    while True:
        now = clock()
        busy = {rel: since for rel, since in quiet_since.items() if now - since < settle_seconds}
        if not busy or now >= limit:
            break
        new = sorted(set(busy) - announced)
        if new and on_wait:
            names = ", ".join(new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
            on_wait(f"waiting for {len(new)} file(s) still being written to settle ({settle_seconds:g} s): {names}")
        announced |= set(new)
        sleep(max(0.01, min(settle_seconds - (now - since) for since in busy.values())))
        for rel in list(busy):
            now_entry = restat(current[rel])
            if now_entry is None or now_entry.skip:
                current.pop(rel), quiet_since.pop(rel)
            elif now_entry.identity != current[rel].identity:
                current[rel], quiet_since[rel] = now_entry, clock()
    now = clock()
    settled = [current[e.rel] for e in entries if e.rel in current and now - quiet_since[e.rel] >= settle_seconds]
    waiting = [current[e.rel] for e in entries if e.rel in current and now - quiet_since[e.rel] < settle_seconds]
    return settled, waiting


def settle_seconds() -> float:
    """How long a landing file must stay unchanged before it is read (env SCM_SETTLE_SECONDS)."""
    return float(os.environ.get("SCM_SETTLE_SECONDS", "30"))
