"""`scm check`: what loading a file or folder would do, without loading anything.

Each file is read the way ingest reads it (with its folder's profile) and judged with the contract's rules
(`rules.evaluate` / `rules.split`) on the frames, in ingest's batches; nothing is written. What ingest would
learn from the warehouse comes from it opened read-only, when it exists: the rows the cross-feed rules compare
with (a return against its order line; without a warehouse the report says they were not checked; the
published snapshot holds no raw rows to compare with) and the contents already loaded (a file with the same
bytes would not load again).

Exit codes: 0 every file would load whole, 1 rows would be quarantined, 2 a file would be rejected (or is no
feed file ingest reads, such as an .xlsx without a profile) or a profile is bad.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.feeds import ingest, references, rules
from pipelines.feeds.contract import FEEDS, Feed
from pipelines.feeds.landing import SKIP_REASONS, Entry, scan
from pipelines.feeds.profile import PROFILE_FILE, Profile, ProfileError, load_profile
from pipelines.feeds.reader import FileRead, FileRejected, first_line

EXIT_LOADS, EXIT_QUARANTINE, EXIT_REJECT = 0, 1, 2
# Rows shown per broken rule: enough to see the pattern, few enough to read.
FIRST_ROWS = 5
# Entries that are no feed file at all (a hidden or temporary file, a subfolder): listed, not judged.
_IGNORED_SKIPS = ("temporary", "directory")


class CheckError(Exception):
    """PATH cannot be checked at all (not a feed folder, an unknown feed); one line for the user."""


@dataclass
class RuleCount:
    rule: str
    count: int
    # {"row": source row number, "reason", "sent": the row as sent, "mapped": its mapped values (with a profile)}
    first_rows: list[dict] = field(default_factory=list)


@dataclass
class FileCheck:
    file: str
    status: str  # load | quarantine | reject | skipped | duplicate (its bytes are loaded already)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantined_by_rule: list[RuleCount] = field(default_factory=list)
    reject_reason: str | None = None
    message: str | None = None

    @property
    def exit_code(self) -> int:
        if self.status == "reject" or (self.status == "skipped" and self.reject_reason not in _IGNORED_SKIPS):
            return EXIT_REJECT
        return EXIT_QUARANTINE if self.status == "quarantine" else EXIT_LOADS


@dataclass
class FeedCheck:
    feed: str
    folder: str
    profile: str | None = None  # the profile file used, None without one
    profile_error: str | None = None  # one line naming the file and key; then no file is read
    cross_feed: str | None = None  # None: the feed has no cross-feed rule; else "checked" or why not
    files: list[FileCheck] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.profile_error:
            return EXIT_REJECT
        return max((f.exit_code for f in self.files), default=EXIT_LOADS)


@dataclass
class CheckReport:
    feeds: list[FeedCheck]

    @property
    def exit_code(self) -> int:
        return max((f.exit_code for f in self.feeds), default=EXIT_LOADS)

    def to_json(self) -> str:
        return json.dumps({"exit_code": self.exit_code, "feeds": [asdict(f) for f in self.feeds]}, indent=2)

    def render(self) -> str:
        lines: list[str] = []
        for fc in self.feeds:
            profile = f"profile {fc.profile}" if fc.profile else "no profile"
            lines.append(f"{fc.feed} ({fc.folder}, {profile})")
            if fc.profile_error:
                lines.append(f"  bad profile: {fc.profile_error}")
                lines.append("  its files wait until the profile is fixed (none would load)")
                continue
            if not fc.files:
                lines.append("  no files")
            for f in fc.files:
                lines += _render_file(f)
            if fc.cross_feed and fc.cross_feed != "checked":
                # A cycle in a bill of materials is looked for in these files all the same, not with loaded rows.
                graph = any(r.kind == "acyclic" for r in FEEDS[fc.feed].all_rules())
                what = "cycles checked within these files only" if graph else "cross-feed rules not checked"
                lines.append(f"  {what}: {fc.cross_feed}")
        files = [f for fc in self.feeds for f in fc.files if f.status not in ("skipped", "duplicate")]
        counts = {s: sum(f.status == s for f in files) for s in ("load", "quarantine", "reject")}
        bad_profiles = sum(bool(fc.profile_error) for fc in self.feeds)
        summary = (
            f"{len(files)} file(s): {counts['load']} would load whole, {counts['quarantine']} with rows quarantined, "
            f"{counts['reject']} rejected"
        )
        if bad_profiles:
            summary += f"; {bad_profiles} bad profile(s)"
        lines.append(summary)
        return "\n".join(lines) + "\n"


def _render_file(f: FileCheck) -> list[str]:
    if f.status == "skipped":
        return [f"  {f.file}: not read: {f.message}"]
    if f.status == "duplicate":
        return [f"  {f.file}: would not load: {f.message}"]
    if f.status == "reject":
        return [f"  {f.file}: would be rejected ({f.reject_reason}): {f.message}"]
    if f.status == "load":
        return [f"  {f.file}: would load all {f.rows_read:,} rows"]
    out = [f"  {f.file}: {f.rows_loaded:,} of {f.rows_read:,} rows would load, {f.rows_quarantined:,} quarantined"]
    for rc in f.quarantined_by_rule:
        out.append(f"    {rc.rule}: {rc.count:,} row(s)")
        for row in rc.first_rows:
            out.append(f"      row {row['row']}: {row['reason']}")
            out.append(f"        as sent: {json.dumps(row['sent'], ensure_ascii=False)}")
            if "mapped" in row:
                out.append(f"        mapped:  {json.dumps(row['mapped'], ensure_ascii=False)}")
    return out


def check_path(
    path: Path,
    feed: str | None = None,
    now: datetime | None = None,
    warehouse: Path | None = None,
) -> CheckReport:
    """Check a file, a feed folder, or a landing folder holding feed folders (`feed` overrides the folder's
    name). `warehouse`: the pipeline's DuckDB file, opened read-only for the cross-feed rules if it exists."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    path = Path(path)
    if not path.exists():
        raise CheckError(f"{path}: no such file or folder")
    if path.is_file():
        targets = [(path.parent, _feed_name(feed or path.parent.name, path), path)]
    elif feed or path.name in FEEDS:
        targets = [(path, _feed_name(feed or path.name, path), None)]
    else:
        targets = [(path / name, name, None) for name in FEEDS if (path / name).is_dir()]
        if not targets:
            raise CheckError(
                f"{path}: not a feed folder and holds none (feed folders are named {', '.join(FEEDS)}; or pass --feed)"
            )
    loaded = _Loaded(warehouse)
    try:
        return CheckReport([_check_feed(folder, FEEDS[name], now, loaded, only) for folder, name, only in targets])
    finally:
        loaded.close()


def _feed_name(name: str, path: Path) -> str:
    if name not in FEEDS:
        raise CheckError(f"{path}: {name!r} is not a feed (one of {', '.join(FEEDS)}); pass --feed")
    return name


def _check_feed(folder: Path, feed: Feed, now: datetime, loaded: _Loaded, only: Path | None) -> FeedCheck:
    result = FeedCheck(feed.name, str(folder))
    try:
        profile = load_profile(folder, feed)
    except ProfileError as exc:
        result.profile, result.profile_error = str(folder / PROFILE_FILE), str(exc)
        return result
    if profile is not None:
        result.profile = str(folder / PROFILE_FILE)
    entries = [e for e in scan(folder.parent, folder.name) if e.path.name != PROFILE_FILE]
    if only is not None:
        entries = [e for e in entries if e.path.name == only.name]
    hashes = loaded.hashes(feed)
    for entry in entries:
        if entry.skip:
            result.files.append(
                FileCheck(entry.rel, "skipped", reject_reason=entry.skip, message=SKIP_REASONS[entry.skip])
            )
    # In batches of files as ingest reads them, so that memory stays bounded whatever the folder holds.
    candidates = [e for e in entries if not e.skip]
    for batch in ingest.in_batches(candidates, lambda e: e.size or 0, ingest.BATCH_BYTES):
        reads: list[tuple[FileCheck, FileRead]] = []
        for entry in batch:
            try:
                outcome = _read(entry, feed, profile, hashes)
            except ProfileError as exc:
                # A key the file cannot satisfy (a source column it does not have): the profile is what is wrong,
                # and the folder's files wait for it, as when loading.
                result.profile_error, result.files = str(exc), []
                return result
            if isinstance(outcome, FileCheck):
                result.files.append(outcome)
                continue
            checked = FileCheck(entry.rel, "load", rows_read=outcome.rows_read)
            result.files.append(checked)
            reads.append((checked, outcome))
        if reads:
            result.cross_feed = _judge(reads, feed, now, loaded, mapped=profile is not None) or result.cross_feed
    result.files.sort(key=lambda f: f.file)  # in the order they load
    return result


def _read(entry: Entry, feed: Feed, profile: Profile | None, hashes: dict[str, str]) -> FileCheck | FileRead:
    """The file read as the feed (as ingest reads it), or its outcome when it would not be loaded."""
    digest, read = ingest.read_file(entry, feed, profile)
    if isinstance(read, ProfileError):
        raise read
    if digest is not None and digest in hashes:
        return FileCheck(entry.rel, "duplicate", message=f"same content as {hashes[digest]}: not loaded again")
    if digest is not None:
        hashes[digest] = entry.rel
    if isinstance(read, FileRejected):
        return FileCheck(entry.rel, "reject", reject_reason=read.reason, message=read.message)
    return read


def _judge(
    reads: list[tuple[FileCheck, FileRead]], feed: Feed, now: datetime, loaded: _Loaded, mapped: bool
) -> str | None:
    """Evaluate the contract on a batch of files and fill in their counts; the cross-feed rules' status."""
    files = [r for _, r in reads]
    frame = ingest.batch_frame(files, feed)
    referenced, cross_feed = None, None
    if any(r.kind in rules.CROSS_FEED for r in feed.all_rules()):
        referenced, cross_feed = loaded.referenced(feed, frame)
    good, bad = ingest.judge(frame, files, feed, now, referenced)
    _count([f for f, _ in reads], good, bad, feed, mapped)
    return cross_feed


class _Loaded:
    """What the warehouse holds so far, opened read-only (or why it cannot be): the rows the cross-feed rules
    compare with, and the contents already loaded (a file with the same bytes is not loaded again)."""

    def __init__(self, warehouse: Path | None):
        self.con: duckdb.DuckDBPyConnection | None = None
        self.why_not = "no warehouse yet, so nothing is loaded to compare with (they are checked when loading)"
        if warehouse is not None and warehouse.exists():
            try:
                self.con = duckdb.connect(str(warehouse), read_only=True)
            except duckdb.Error as exc:
                self.why_not = f"the warehouse cannot be opened read-only ({first_line(exc)})"

    def hashes(self, feed: Feed) -> dict[str, str]:
        """Content hash -> the file first logged with it, as ingest judges duplicates."""
        if self.con is None:
            return {}
        try:
            return ingest.known_hashes(self.con, feed)  # the very query ingest judges duplicates by
        except duckdb.CatalogException:
            return {}  # no run has loaded anything yet

    def referenced(self, feed: Feed, frame: pl.DataFrame) -> tuple[dict | None, str]:
        """The loaded rows the cross-feed rules compare with, and "checked", or None and why they are not."""
        if self.con is None:
            return None, self.why_not
        try:
            return references.lookup(self.con, feed, frame), "checked"
        except duckdb.CatalogException:
            return None, "the warehouse has no raw layer yet (no run has loaded it)"

    def close(self) -> None:
        if self.con is not None:
            self.con.close()


def _count(files: list[FileCheck], good: pl.DataFrame, bad: pl.DataFrame, feed: Feed, mapped: bool) -> None:
    loaded = dict(good.group_by("_source_file").len().iter_rows()) if good.height else {}
    for f in files:
        if f.status != "load":
            continue
        f.rows_loaded = loaded.get(f.file, 0)
        mine = bad.filter(pl.col("_source_file") == f.file).sort("_row_number")
        f.rows_quarantined = mine.height
        if not mine.height:
            continue
        f.status = "quarantine"
        for rule, count in sorted(mine.group_by("_rule").len().iter_rows(), key=lambda rc: (-rc[1], rc[0])):
            first = mine.filter(pl.col("_rule") == rule).head(FIRST_ROWS)
            f.quarantined_by_rule.append(
                RuleCount(rule, count, [_shown(row, feed, mapped) for row in first.iter_rows(named=True)])
            )


def _shown(row: dict, feed: Feed, mapped: bool) -> dict:
    """A quarantined row as the report shows it: its source row number, why, and the row as sent (through a
    profile, the source row, which the mapping keeps in `_extra`, and the values it mapped to)."""
    values = {c: row[c] for c in feed.column_names}
    extra = json.loads(row["_extra"]) if row.get("_extra") else {}
    if row["_rule"] == "malformed_row":
        return {"row": row["_row_number"], "reason": row["_reason"], "sent": extra}  # the line, and its fields
    if mapped:
        return {"row": row["_row_number"], "reason": row["_reason"], "sent": extra, "mapped": values}
    return {"row": row["_row_number"], "reason": row["_reason"], "sent": {**values, **extra}}
