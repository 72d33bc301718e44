"""Daily feed files: `<out>/<feed>/<feed>_<YYYY-MM-DD>.csv|parquet`, one per feed and day with rows.

A feed arrives here a window of days at a time (`month_windows`: generate() builds and writes one
calendar month of a feed before it builds the next), so no table of a whole feed is ever held. Within
a window, CSV is rendered in slices of whole days and cut into days by byte offsets (no value
contains a newline), which is what keeps a million-line world fast to write; Parquet is written per
day from typed frames.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from pipelines.feeds.contract import FEEDS

from .tables import FILE_DAY

Format = Literal["csv", "parquet"]
# The contract accepts both spellings of UTC; two feeds use the offset form so readers meet both.
_Z = "%Y-%m-%dT%H:%M:%SZ"
_OFFSET = "%Y-%m-%dT%H:%M:%S+00:00"
TS_FORMAT: dict[str, str] = {name: _Z for name in FEEDS} | {"purchase_orders": _OFFSET, "returns": _OFFSET}


def file_name(feed: str, day: date, fmt: Format, suffix: str = "") -> str:
    return f"{feed}_{day.isoformat()}{suffix}.{fmt}"


def as_text(feed: str, df: pl.DataFrame) -> pl.DataFrame:
    """The frame as the strings a CSV file of this feed carries (nulls stay null)."""
    return df.select(
        [
            pl.col(c).dt.strftime(TS_FORMAT[feed]) if isinstance(t, pl.Datetime) else pl.col(c).cast(pl.String)
            for c, t in df.schema.items()
        ]
    )


def csv_bytes(feed: str, df: pl.DataFrame) -> memoryview:
    buf = io.BytesIO()
    df.write_csv(buf, datetime_format=TS_FORMAT[feed])
    return buf.getbuffer()


CSV_CHUNK_ROWS = 250_000  # rendered at a time: bounds memory to a slice of the feed, not all of it


def _write_csv_days(feed: str, data: pl.DataFrame, paths: list[Path], counts: np.ndarray) -> None:
    """Render the rows of consecutive days once and cut the text into one file per day."""
    text = csv_bytes(feed, data)
    raw = np.frombuffer(text, dtype=np.uint8)
    header_end = int(np.argmax(raw == ord("\n"))) + 1
    header, body = bytes(text[:header_end]), text[header_end:]
    line_ends = np.r_[0, np.flatnonzero(raw[header_end:] == ord("\n")) + 1]
    if line_ends.size != data.height + 1:
        raise ValueError(f"{feed}: a value contains a newline; CSV rows cannot be cut by line")
    bounds = line_ends[np.r_[0, np.cumsum(counts)]]
    for path, a, b in zip(paths, bounds[:-1], bounds[1:], strict=True):
        path.write_bytes(header + body[a:b])


def month_windows(origin: date, first_day: int, last_day: int) -> list[tuple[int, int]]:
    """Simulation days first_day..last_day (inclusive) cut into calendar months, as (first, last) pairs:
    the windows a feed is built and written in, so that memory holds a month of a feed, not all of it."""
    windows = []
    day = first_day
    while day <= last_day:
        d = origin + timedelta(days=day)
        next_month = date(d.year + d.month // 12, d.month % 12 + 1, 1)
        end = min(day + (next_month - d).days - 1, last_day)
        windows.append((day, end))
        day = end + 1
    return windows


def write_feed(out_dir: Path, feed: str, table: pl.DataFrame, origin: date, fmt: Format) -> tuple[int, int]:
    """Write one file per day; returns (files, rows). `table` is sorted by its file day."""
    folder = out_dir / feed
    folder.mkdir(parents=True, exist_ok=True)
    days, starts, counts = np.unique(table[FILE_DAY].to_numpy(), return_index=True, return_counts=True)
    data = table.drop(FILE_DAY)
    paths = [folder / file_name(feed, origin + timedelta(days=int(d)), fmt) for d in days]
    if fmt == "parquet":
        for path, start, count in zip(paths, starts, counts, strict=True):
            data.slice(int(start), int(count)).write_parquet(path)
        return len(paths), table.height
    chunk = np.asarray(starts) // CSV_CHUNK_ROWS  # whole days per chunk
    for c in np.unique(chunk):  # a few chunks, each cut into many days
        sel = np.flatnonzero(chunk == c)
        lo, n = int(starts[sel[0]]), int(counts[sel].sum())
        _write_csv_days(feed, data.slice(lo, n), [paths[i] for i in sel], counts[sel])
    return len(paths), table.height
