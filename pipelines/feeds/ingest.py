"""Load a feed's new landing files into the raw layer: good rows to `raw.<feed>`, bad rows to its
quarantine with the rule they broke, every file to `raw.ingest_log`. Files go in batches, one
transaction each: a batch's rows and its files' log entries commit together, so a crash leaves every
file either loaded and logged or untouched, and the next run picks up exactly the untouched ones.

A file is identified by its content hash: the same bytes are loaded once, whatever their name. Files
whose path, size and modification time are already logged are not even reread.
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

from pipelines.feeds import rules
from pipelines.feeds.contract import Feed
from pipelines.feeds.raw_tables import (
    INGEST_LOG,
    INGEST_LOG_COLUMNS,
    create_raw_tables,
    quarantine_table,
    raw_table,
)
from pipelines.feeds.reader import FileRead, FileRejected, content_hash, landing_files, read_feed_file

T = TypeVar("T")


@dataclass
class FileOutcome:
    file: str
    status: str  # loaded | rejected | duplicate
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reject_reason: str | None = None
    message: str | None = None
    extra_columns: list[str] = field(default_factory=list)


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
        return [f for f in self.files if f.status == "rejected"]


@dataclass
class _Candidate:
    path: Path
    rel: str
    size: int
    modified_ns: int


# Files are read, checked and committed in batches of about this many bytes, so that memory stays
# bounded whatever the backlog (a first load of two years of orders is millions of rows: one
# transaction for all of them would hold them all in memory until it commits).
BATCH_BYTES = 64 * 1024**2


def ingest_feed(
    con: duckdb.DuckDBPyConnection, feed: Feed, landing: Path, load_id: str, now: datetime
) -> FeedIngestResult:
    create_raw_tables(con)
    candidates = _new_files(con, feed, landing)
    known_hashes = _known_hashes(con, feed)
    outcomes: list[FileOutcome] = []
    by_rule: Counter[str] = Counter()
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for batch in in_batches(candidates, lambda c: c.size, BATCH_BYTES):
            logged, reads = _read_batch(pool, batch, feed, known_hashes)
            good, bad = _validate(reads, feed, now)
            _count_per_file([o for _, _, o in logged], good, bad)
            with _transaction(con):
                _append(con, raw_table(feed), good, load_id, now)
                _append(con, quarantine_table(feed), bad, load_id, now)
                _log(con, feed, logged, load_id, now)
            outcomes += [o for _, _, o in logged]
            if bad.height:
                by_rule.update(dict(bad.group_by("_rule").len().iter_rows()))
                errors += bad.get_column("_reason").head(20 - len(errors)).to_list()
    rejects = [f"{o.file}: rejected ({o.reject_reason}): {o.message}" for o in outcomes if o.status == "rejected"]
    return FeedIngestResult(feed.name, load_id, outcomes, dict(by_rule.most_common()), rejects + errors)


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


def _read_batch(
    pool: ThreadPoolExecutor, batch: list[_Candidate], feed: Feed, known_hashes: dict[str, str]
) -> tuple[list[tuple[_Candidate, str, FileOutcome]], list[FileRead]]:
    """Read and parse a batch of files (in threads: polars and hashing release the GIL)."""

    def parse(cand: _Candidate) -> tuple[_Candidate, str, FileRead | FileRejected]:
        data = cand.path.read_bytes()
        try:
            return cand, content_hash(data), read_feed_file(data, cand.path.name, feed, cand.rel)
        except FileRejected as rej:
            return cand, content_hash(data), rej

    logged: list[tuple[_Candidate, str, FileOutcome]] = []
    reads: list[FileRead] = []
    for cand, digest, read in pool.map(parse, batch):
        if digest in known_hashes:
            outcome = FileOutcome(cand.rel, "duplicate", message=f"same content as {known_hashes[digest]}")
        elif isinstance(read, FileRejected):
            outcome = FileOutcome(cand.rel, "rejected", reject_reason=read.reason, message=read.message)
        else:
            reads.append(read)
            outcome = FileOutcome(cand.rel, "loaded", rows_read=read.rows_read, extra_columns=read.extra_columns)
        known_hashes.setdefault(digest, cand.rel)
        logged.append((cand, digest, outcome))
    return logged, reads


def _validate(reads: list[FileRead], feed: Feed, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    frames = [r.frame for r in reads] or [_empty_text_frame(feed)]
    frame = pl.concat(frames, how="vertical_relaxed", rechunk=False)
    good, bad = rules.split(rules.evaluate(frame, feed, now), feed, now)
    malformed = [r.malformed for r in reads if r.malformed.height]
    if malformed:
        bad = pl.concat([bad, *malformed], how="vertical_relaxed")
    bad = bad.with_columns(pl.format("{} row {}: {}", "_source_file", "_row_number", "_reason").alias("_reason"))
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


def _new_files(con: duckdb.DuckDBPyConnection, feed: Feed, landing: Path) -> list[_Candidate]:
    seen = {
        (f, s, m)
        for f, s, m in con.execute(
            f"select file, size_bytes, modified_ns from {INGEST_LOG} where feed = ?", [feed.name]
        ).fetchall()
    }
    out = []
    for path in landing_files(landing / feed.name):
        stat = path.stat()
        rel = path.relative_to(landing).as_posix()
        if (rel, stat.st_size, stat.st_mtime_ns) not in seen:
            out.append(_Candidate(path, rel, stat.st_size, stat.st_mtime_ns))
    return out


def _known_hashes(con: duckdb.DuckDBPyConnection, feed: Feed) -> dict[str, str]:
    rows = con.execute(
        f"select content_hash, min(file) from {INGEST_LOG} where feed = ? and status <> 'duplicate' "
        "group by content_hash",
        [feed.name],
    ).fetchall()
    return dict(rows)


def _append(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, load_id: str, now: datetime) -> None:
    if frame.height == 0:
        return
    batch = frame.with_columns(pl.lit(load_id).alias("_load_id"), pl.lit(now).alias("_loaded_at"))
    columns = [d[0] for d in con.execute(f"select * from {table} limit 0").description]
    con.register("_batch", batch.select(columns).to_arrow())
    try:
        con.execute(f"insert into {table} select * from _batch")
    finally:
        con.unregister("_batch")


def _log(con, feed: Feed, logged: list[tuple[_Candidate, str, FileOutcome]], load_id: str, now: datetime) -> None:
    if not logged:
        return
    rows = [
        (
            load_id,
            feed.name,
            c.rel,
            digest,
            c.size,
            c.modified_ns,
            o.status,
            o.rows_read,
            o.rows_loaded,
            o.rows_quarantined,
            o.reject_reason,
            o.message,
            o.extra_columns,
            now,
        )
        for c, digest, o in logged
    ]
    placeholders = ", ".join("?" for _ in INGEST_LOG_COLUMNS)
    con.executemany(f"insert into {INGEST_LOG} values ({placeholders})", rows)


class _transaction:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def __enter__(self):
        self.con.execute("begin transaction")

    def __exit__(self, exc_type, *_):
        self.con.execute("rollback" if exc_type else "commit")
