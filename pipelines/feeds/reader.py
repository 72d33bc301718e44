"""Read one landing file as the feed's columns, all as text, or say in one line why it cannot be read.

Every value is kept as the text the file holds (Parquet values are rendered as text), so that the
contract's casting and rules (`rules.py`) run the same way for both formats, and a quarantined row
stores what the user sent.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.feeds.contract import Feed

SUFFIXES = (".csv", ".csv.gz", ".parquet")
META_COLUMNS = ("_source_file", "_row_number", "_extra")


class FileRejected(Exception):
    """The whole file cannot be read as the feed; `reason` is a key of FILE_REJECT_REASONS."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass
class FileRead:
    frame: pl.DataFrame  # feed columns as text + META_COLUMNS; one row per readable data row
    malformed: pl.DataFrame  # rows the CSV parser could not split into the header's fields
    extra_columns: list[str] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return self.frame.height + self.malformed.height


def landing_files(feed_dir: Path) -> list[Path]:
    """The feed's files in name order (ISO dates in names sort in arrival order)."""
    if not feed_dir.is_dir():
        return []
    return sorted(p for p in feed_dir.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_feed_file(data: bytes, name: str, feed: Feed, source: str) -> FileRead:
    """Parse the bytes of one file (`name` decides the format; `source` is recorded on every row)."""
    lower = name.lower()
    if lower.endswith(".parquet"):
        frame, malformed_rows = _read_parquet(data), []
    else:
        if lower.endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise FileRejected("unreadable", f"not a gzip file ({exc})") from None
        frame, malformed_rows = _read_csv(data)
    frame = _normalise_header(frame)
    _check_columns(frame.columns, feed)
    extra = [c for c in frame.columns if c not in feed.column_names and c != "_row_number"]
    out = _to_feed_columns(frame, feed, extra, source)
    malformed = _malformed_frame(malformed_rows, feed, source)
    if out.height + malformed.height == 0:
        raise FileRejected("empty", "the file has a header but no rows")
    return FileRead(frame=out, malformed=malformed, extra_columns=extra)


def _read_parquet(data: bytes) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several types for a corrupt file
        raise FileRejected("unreadable", f"not a Parquet file ({_first_line(exc)})") from None
    return frame.with_columns(_as_text(frame)).with_row_index("_row_number", offset=1)


def _as_text(frame: pl.DataFrame) -> list[pl.Expr]:
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            # Render in UTC with an explicit offset so the text parses back to the same instant.
            if dtype.time_zone is not None:
                col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            col = col.dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
        exprs.append(col.cast(pl.String).alias(name))
    return exprs


def _read_csv(data: bytes) -> tuple[pl.DataFrame, list[tuple[int, list[str], str]]]:
    if not data.strip():
        raise FileRejected("empty", "the file is empty")
    if b"\x00" in data[:8192]:
        raise FileRejected("unreadable", "binary content, not CSV text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileRejected(
            "encoding", f"not UTF-8: byte 0x{data[exc.start]:02x} on line {line} (save the file as UTF-8)"
        ) from None
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False, raise_if_empty=True)
        return frame.with_row_index("_row_number", offset=1), []
    except pl.exceptions.NoDataError:
        raise FileRejected("empty", "the file is empty") from None
    except pl.exceptions.ComputeError:
        # Broken quoting or rows with a wrong field count: split the file the slow, forgiving way
        # so that the good rows still load and each bad one is quarantined with its row number.
        return _read_csv_row_by_row(text)


def _read_csv_row_by_row(text: str) -> tuple[pl.DataFrame, list[tuple[int, list[str], str]]]:
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows)
    good: list[list[str | None]] = []
    numbers: list[int] = []
    malformed: list[tuple[int, list[str], str]] = []
    for number, row in enumerate(rows, start=1):
        if len(row) == len(header):
            good.append([v if v != "" else None for v in row])
            numbers.append(number)
        elif row:
            why = f"has {len(row)} fields, the header has {len(header)} (check quoting and separators)"
            malformed.append((number, row, why))
    frame = pl.DataFrame(good, schema=dict.fromkeys(header, pl.String), orient="row")
    frame = frame.with_columns(pl.Series("_row_number", numbers, dtype=pl.UInt32))
    return frame, malformed


def _normalise_header(frame: pl.DataFrame) -> pl.DataFrame:
    # Exports differ in case and stray blanks around names; the contract's names are lowercase.
    return frame.rename({c: c.strip().lower() for c in frame.columns if c != "_row_number"})


def _check_columns(columns: list[str], feed: Feed) -> None:
    missing = [c for c in feed.required_columns if c not in columns]
    if missing:
        raise FileRejected("missing_columns", f"missing required column(s): {', '.join(missing)}")


def _to_feed_columns(frame: pl.DataFrame, feed: Feed, extra: list[str], source: str) -> pl.DataFrame:
    columns = [
        pl.col(c.name) if c.name in frame.columns else pl.lit(None, pl.String).alias(c.name)
        for c in feed.columns
    ]
    extra_json = (
        pl.struct(extra).struct.json_encode() if extra else pl.lit(None, pl.String)
    ).alias("_extra")
    return frame.select(
        *columns,
        pl.lit(source).alias("_source_file"),
        pl.col("_row_number").cast(pl.Int64),
        extra_json,
    )


def _malformed_frame(rows: list[tuple[int, list[str], str]], feed: Feed, source: str) -> pl.DataFrame:
    """Quarantine rows for lines that did not split into fields; the raw line's fields go to `_extra`."""
    return pl.DataFrame(
        {
            **{c: [None] * len(rows) for c in feed.column_names},
            "_source_file": [source] * len(rows),
            "_row_number": [n for n, _, _ in rows],
            "_extra": [json.dumps({"fields": fields}) for _, fields, _ in rows],
            "_rule": ["malformed_row"] * len(rows),
            "_rules": [["malformed_row"]] * len(rows),
            "_reason": [f"malformed_row: {why}" for _, _, why in rows],
        },
        schema={
            **dict.fromkeys(feed.column_names, pl.String),
            "_source_file": pl.String,
            "_row_number": pl.Int64,
            "_extra": pl.String,
            "_rule": pl.String,
            "_rules": pl.List(pl.String),
            "_reason": pl.String,
        },
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
