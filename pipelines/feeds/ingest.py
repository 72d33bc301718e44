"""Load a feed's new landing files into the raw layer: good rows to `raw.<feed>`, bad rows to its
quarantine with the rule they broke, every file to `raw.ingest_log`. Files go in batches, one
transaction each: a batch's rows and its files' log entries commit together, so a crash leaves every
file either loaded and logged or untouched, and the next run picks up exactly the untouched ones.

A file is identified by its content hash: the same bytes are loaded once, whatever their name. Files
whose path, size, times and inode are already logged are not even reread (pipelines/feeds/landing.py).
Every file loaded gets the next number of one load order (`_file_seq` on its rows): on equal versions of a
key the later delivery wins, also a corrected file re-sent under the same name. Entries of a feed folder
that are not loaded (a folder, an `.xlsx` without a profile, a broken link, a file still being written) are
logged with why.

A folder with a profile (`_profile.yml`, pipelines/feeds/profile.py) has its files read and mapped as it says.
While the profile is invalid, or does not fit a file of the folder, the files it would map are logged
`waiting` with reject_reason `profile` and the profile's error, and are read by a later run once it is fixed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import polars as pl

from pipelines.feeds import references, rules
from pipelines.feeds.contract import Feed
from pipelines.feeds.landing import SKIP_REASONS, Entry, scan, wait_until_settled
from pipelines.feeds.profile import Profile, ProfileError, load_profile
from pipelines.feeds.raw_tables import (
    INGEST_LOG,
    INGEST_LOG_COLUMNS,
    create_raw_tables,
    next_file_seq,
    quarantine_table,
    raw_table,
)
from pipelines.feeds.reader import FileRead, FileRejected, content_hash, read_feed_file

T = TypeVar("T")


@dataclass
class FileOutcome:
    file: str
    status: str  # a key of raw_tables.STATUSES
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reject_reason: str | None = None
    message: str | None = None
    extra_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    file_seq: int | None = None


@dataclass
class FeedIngestResult:
    feed: str
    load_id: str
    files: list[FileOutcome]
    quarantine_by_rule: dict[str, int]
    first_errors: list[str]  # a few one-line messages, for logs and the CLI

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def rejected(self) -> list[FileOutcome]:
        return self.having("rejected")

    def having(self, status: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status == status]


# The message of a file logged `waiting` for its folder's profile, before the profile's error.
PROFILE_WAIT = "waits for its profile to be fixed: "

# Files are read, checked and committed in batches of about this many bytes, so that memory stays
# bounded whatever the backlog (a first load of two years of orders is millions of rows: one
# transaction for all of them would hold them all in memory until it commits).
BATCH_BYTES = 64 * 1024**2


def ingest_feed(
    con: duckdb.DuckDBPyConnection,
    feed: Feed,
    landing: Path,
    load_id: str,
    now: datetime,
    settle_seconds: float = 0,
    on_wait: Callable[[str], None] | None = None,
) -> FeedIngestResult:
    """Load the feed's new files. A file changed within the last `settle_seconds` is awaited until it stays
    unchanged that long (`on_wait` hears which); one still changing after that is left for a later run."""
    create_raw_tables(con)
    entries = new_entries(con, feed, landing)
    skipped = [e for e in entries if e.skip]
    candidates, waiting = wait_until_settled([e for e in entries if not e.skip], settle_seconds, on_wait)
    passed_over = [(e, None, _not_loaded(e, "skipped")) for e in skipped]
    passed_over += [(e, None, _not_loaded(e, "waiting")) for e in waiting]
    try:
        profile = load_profile(landing / feed.name, feed) if candidates else None
    except ProfileError as exc:
        # A profile that cannot be used maps no file: none is read (nothing half-loaded) until it is fixed.
        passed_over += [(e, None, _waiting_for_profile(e, exc)) for e in candidates]
        profile, candidates = None, []
    with _transaction(con):
        _log(con, feed, passed_over, load_id, now)
    outcomes: list[FileOutcome] = [o for _, _, o in passed_over]
    hashes = known_hashes(con, feed)
    logged_before = _logged_contents(con, feed)
    names_before = {file for file, _ in logged_before}
    seq = next_file_seq(con)
    by_rule: Counter[str] = Counter()
    errors: list[str] = []
    misfit: ProfileError | None = None
    with ThreadPoolExecutor(max_workers=4) as pool:
        for batch in in_batches(candidates, lambda c: c.size, BATCH_BYTES):
            parsed = [] if misfit else _parse_batch(pool, batch, feed, profile)
            misfit = misfit or next((r for _, _, r in parsed if isinstance(r, ProfileError)), None)
            if misfit:
                # The profile does not fit a file (a source column it lacks, SQL that fails on it): this batch and
                # the folder's later files wait for the fix, as for an invalid profile.
                waits = [(c, None, _waiting_for_profile(c, misfit)) for c in batch]
                with _transaction(con):
                    _log(con, feed, waits, load_id, now)
                outcomes += [o for _, _, o in waits]
                continue
            logged, reads = _classify(parsed, hashes)
            # A file as it was logged, only moved, copied or touched (its times or inode changed, not its bytes)
            # is no delivery: its log entry takes the new identity, so that it is not read again.
            unchanged = [(c, d) for c, d, _ in logged if (c.rel, d) in logged_before]
            logged = [(c, d, o) for c, d, o in logged if (c.rel, d) not in logged_before]
            _refresh_identity(con, feed, unchanged)
            for _, _, outcome in logged:
                if outcome.status == "loaded" and outcome.file in names_before:
                    outcome.message = "replaces a file of the same name loaded before: on a tie its versions win"
            for _, _, outcome in logged:
                if outcome.status == "loaded":
                    outcome.file_seq, seq = seq, seq + 1
            good, bad = _validate(con, reads, feed, now)
            _count_per_file([o for _, _, o in logged], good, bad)
            order = {o.file: o.file_seq for _, _, o in logged if o.file_seq is not None}
            with _transaction(con):
                _append(con, raw_table(feed), good, load_id, now, order)
                _append(con, quarantine_table(feed), bad, load_id, now, order)
                _log(con, feed, logged, load_id, now)
            outcomes += [o for _, _, o in logged]
            if bad.height:
                by_rule.update(dict(bad.group_by("_rule").len().iter_rows()))
                errors += bad.get_column("_reason").head(20 - len(errors)).to_list()
    rejects = [
        f"{o.file}: {o.status} ({o.reject_reason}): {o.message}"
        for o in outcomes
        if o.status in ("rejected", "skipped") or o.reject_reason == "profile"
    ]
    return FeedIngestResult(feed.name, load_id, outcomes, dict(by_rule.most_common()), rejects + errors)


def _not_loaded(entry: Entry, status: str) -> FileOutcome:
    if status == "waiting":
        return FileOutcome(entry.rel, status, message="still being written when the run ended; a later run loads it")
    why = SKIP_REASONS[entry.skip]
    if entry.skip == "unsupported":
        suffix = "".join(entry.path.suffixes[-2:]) or "no extension"
        why += f" ({suffix}: save it as CSV, UTF-8, or Parquet)"
    return FileOutcome(entry.rel, status, reject_reason=entry.skip, message=why)


def _waiting_for_profile(entry: Entry, error: ProfileError) -> FileOutcome:
    return FileOutcome(entry.rel, "waiting", reject_reason="profile", message=f"{PROFILE_WAIT}{error}")


def in_batches(items: Iterable[T], size: Callable[[T], int], limit: int) -> Iterator[list[T]]:
    """Consecutive items in batches whose sizes add up to at most `limit` (an item larger than that is a
    batch of its own). Files by bytes here; the contract check groups a load's files by rows the same way."""
    batch: list[T] = []
    total = 0
    for item in items:
        if batch and total + size(item) > limit:
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += size(item)
    if batch:
        yield batch


Parsed = tuple[Entry, str | None, FileRead | FileRejected | ProfileError]


def _parse_batch(pool: ThreadPoolExecutor, batch: list[Entry], feed: Feed, profile: Profile | None) -> list[Parsed]:
    """Read and parse a batch of files (in threads: polars and hashing release the GIL)."""

    return list(pool.map(lambda cand: (cand, *read_file(cand, feed, profile)), batch))


def read_file(
    entry: Entry, feed: Feed, profile: Profile | None
) -> tuple[str | None, FileRead | FileRejected | ProfileError]:
    """(content hash, the file read as the feed) of one landing file; what stops it being read is returned, not
    raised: a file that cannot be opened or parsed is a reject of that file, the others load (`scm check` reads
    files this way too)."""
    try:
        data = entry.path.read_bytes()
    except FileNotFoundError:
        return None, FileRejected("unreadable", "the file was removed before it could be read")
    except OSError as exc:
        # Permission denied, a device error: this file is left for a later run, the others load.
        return None, FileRejected("unreadable", f"cannot be opened: {exc.strerror or exc}")
    digest = content_hash(data)
    try:
        return digest, read_feed_file(data, entry.path.name, feed, entry.rel, profile)
    except (FileRejected, ProfileError) as rej:
        return digest, rej
    except Exception as exc:  # noqa: BLE001 - a file the reader cannot handle must not stop the other files
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        return digest, FileRejected("unreadable", f"cannot be read ({type(exc).__name__}: {text})")


def _classify(
    parsed: list[Parsed], known_hashes: dict[str, str]
) -> tuple[list[tuple[Entry, str | None, FileOutcome]], list[FileRead]]:
    """Each parsed file's outcome (loaded, rejected or a duplicate of a file read before), and the reads to load."""
    logged: list[tuple[Entry, str | None, FileOutcome]] = []
    reads: list[FileRead] = []
    for cand, digest, read in parsed:
        if digest is not None and digest in known_hashes:
            outcome = FileOutcome(cand.rel, "duplicate", message=f"same content as {known_hashes[digest]}")
        elif isinstance(read, FileRejected):
            outcome = FileOutcome(cand.rel, "rejected", reject_reason=read.reason, message=read.message)
        else:
            reads.append(read)
            outcome = FileOutcome(
                cand.rel,
                "loaded",
                rows_read=read.rows_read,
                extra_columns=read.extra_columns,
                missing_columns=read.missing_columns,
            )
        if digest is not None:
            known_hashes.setdefault(digest, cand.rel)
        logged.append((cand, digest, outcome))
    return logged, reads


def _validate(con, reads: list[FileRead], feed: Feed, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = batch_frame(reads, feed)
    # Cross-feed rules compare the batch with what is loaded so far (earlier batches, earlier feeds of the run).
    good, bad = judge(frame, reads, feed, now, references.lookup(con, feed, frame))
    bad = bad.with_columns(pl.format("{} row {}: {}", "_source_file", "_row_number", "_reason").alias("_reason"))
    return good, bad


def batch_frame(reads: list[FileRead], feed: Feed) -> pl.DataFrame:
    """The rows of a batch of files, as text, in one frame."""
    frames = [r.frame for r in reads] or [_empty_text_frame(feed)]
    return pl.concat(frames, how="vertical_relaxed", rechunk=False)


def judge(
    frame: pl.DataFrame, reads: list[FileRead], feed: Feed, now: datetime, referenced: dict | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows, quarantined rows with their rules) of a batch: the contract's rules on its rows, and the lines
    its CSV files could not split. `referenced`: the loaded rows the cross-feed rules compare with."""
    good, bad = rules.split(rules.evaluate(frame, feed, now, referenced), feed, now)
    malformed = [r.malformed for r in reads if r.malformed.height]
    if malformed:
        bad = pl.concat([bad, *malformed], how="vertical_relaxed")
    return good, bad


def _empty_text_frame(feed: Feed) -> pl.DataFrame:
    schema = {
        **dict.fromkeys(feed.column_names, pl.String),
        "_source_file": pl.String,
        "_row_number": pl.Int64,
        "_extra": pl.String,
    }
    return pl.DataFrame(schema=schema)


def _count_per_file(outcomes: list[FileOutcome], good: pl.DataFrame, bad: pl.DataFrame) -> None:
    loaded = dict(good.group_by("_source_file").len().iter_rows()) if good.height else {}
    quarantined = dict(bad.group_by("_source_file").len().iter_rows()) if bad.height else {}
    for o in outcomes:
        o.rows_loaded = loaded.get(o.file, 0)
        o.rows_quarantined = quarantined.get(o.file, 0)
        # The contract's promise: every row read ends loaded or quarantined.
        if o.rows_read != o.rows_loaded + o.rows_quarantined:
            raise RuntimeError(f"{o.file}: counts do not reconcile: {o}")


def new_entries(con: duckdb.DuckDBPyConnection, feed: Feed, landing: Path) -> list[Entry]:
    """The folder's entries not yet logged as they are now (a file awaited last time is looked at again):
    what the next load of the feed reads, and what the new-files sensor asks about."""
    seen = set()
    for file, size, modified, changed, inode in con.execute(
        f"select file, size_bytes, modified_ns, ctime_ns, inode from {INGEST_LOG} "
        "where feed = ? and status <> 'waiting'",
        [feed.name],
    ).fetchall():
        # A row logged before change times and inodes were is matched on what it has.
        seen.add((file, size, modified, changed, inode) if inode is not None else (file, size, modified))
    return [e for e in scan(landing, feed.name) if e.identity not in seen and e.identity[:3] not in seen]


def _logged_contents(con: duckdb.DuckDBPyConnection, feed: Feed) -> set[tuple[str, str]]:
    """(file, content hash) of every file of the feed read so far."""
    rows = con.execute(
        f"select distinct file, content_hash from {INGEST_LOG} where feed = ? and content_hash is not null", [feed.name]
    ).fetchall()
    return set(rows)


def _refresh_identity(con: duckdb.DuckDBPyConnection, feed: Feed, unchanged: list[tuple[Entry, str | None]]) -> None:
    for entry, digest in unchanged:
        con.execute(
            f"update {INGEST_LOG} set size_bytes = ?, modified_ns = ?, ctime_ns = ?, inode = ? "
            "where feed = ? and file = ? and content_hash = ?",
            [entry.size, entry.modified_ns, entry.changed_ns, entry.inode, feed.name, entry.rel, digest],
        )


def known_hashes(con: duckdb.DuckDBPyConnection, feed: Feed) -> dict[str, str]:
    """Content hash -> the file first logged with it: the bytes a new file must not repeat to load."""
    rows = con.execute(
        f"select content_hash, min(file) from {INGEST_LOG} where feed = ? and status <> 'duplicate' "
        "and content_hash is not null group by content_hash",
        [feed.name],
    ).fetchall()
    return dict(rows)


def _append(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, load_id: str, now: datetime, order: dict[str, int]
) -> None:
    if frame.height == 0:
        return
    batch = frame.with_columns(
        pl.lit(load_id).alias("_load_id"),
        pl.lit(now).alias("_loaded_at"),
        pl.col("_source_file").replace_strict(order, return_dtype=pl.Int64).alias("_file_seq"),
    )
    columns = [d[0] for d in con.execute(f"select * from {table} limit 0").description]
    con.register("_batch", batch.select(columns).to_arrow())
    try:
        con.execute(f"insert into {table} select * from _batch")
    finally:
        con.unregister("_batch")


def _log(con, feed: Feed, logged: list[tuple[Entry, str | None, FileOutcome]], load_id: str, now: datetime) -> None:
    if not logged:
        return
    values = [
        {
            "load_id": load_id,
            "feed": feed.name,
            "file": c.rel,
            "content_hash": digest,
            "size_bytes": c.size,
            "modified_ns": c.modified_ns,
            "status": o.status,
            "rows_read": o.rows_read,
            "rows_loaded": o.rows_loaded,
            "rows_quarantined": o.rows_quarantined,
            "reject_reason": o.reject_reason,
            "message": o.message,
            "extra_columns": o.extra_columns,
            "loaded_at": now,
            "file_seq": o.file_seq,
            "ctime_ns": c.changed_ns,
            "inode": c.inode,
            "missing_columns": o.missing_columns,
        }
        for c, digest, o in logged
    ]
    names = [name for name, _ in INGEST_LOG_COLUMNS]
    placeholders = ", ".join("?" for _ in names)
    con.executemany(
        f"insert into {INGEST_LOG} ({', '.join(names)}) values ({placeholders})",
        [[v[n] for n in names] for v in values],
    )


class _transaction:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def __enter__(self):
        self.con.execute("begin transaction")

    def __exit__(self, exc_type, *_):
        self.con.execute("rollback" if exc_type else "commit")
