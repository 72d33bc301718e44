"""Read one landing file as the feed's columns, all as text, or say in one line why it cannot be read.

Every value is kept as the text the file holds (Parquet values are rendered as text), so that the
contract's casting and rules (`rules.py`) run the same way for both formats, and a quarantined row
stores what the user sent. A file of a folder with a profile is read and mapped as the profile says
(pipelines/feeds/mapping.py), through the same CSV reader with the profile's delimiter, encoding and
skipped lines.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import re
from dataclasses import dataclass, field

import polars as pl

from pipelines.feeds.contract import Feed
from pipelines.feeds.profile import Profile, ProfileError

META_COLUMNS = ("_source_file", "_row_number", "_extra")

# A long field is data, not an error: csv's default limit (128 KiB) would quarantine a row holding one, and
# only when its file takes the row-by-row path (polars has no limit). Set once: files are read in threads.
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


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
    missing_columns: list[str] = field(default_factory=list)  # optional contract columns the file lacks

    @property
    def rows_read(self) -> int:
        return self.frame.height + self.malformed.height


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_feed_file(data: bytes, name: str, feed: Feed, source: str, profile: Profile | None = None) -> FileRead:
    """Parse the bytes of one file (`name` decides the format; `source` is recorded on every row). With the
    folder's profile, the file is read as it says and mapped onto the feed (pipelines/feeds/mapping.py)."""
    if profile is not None and not (profile.maps_nothing and name.lower().endswith((".csv", ".csv.gz", ".parquet"))):
        return _read_profiled(data, name, feed, source, profile)
    lower = name.lower()
    if lower.endswith(".parquet"):
        frame, malformed_rows = _read_parquet(data, feed), []
    else:
        if lower.endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise FileRejected("unreadable", f"not a gzip file ({exc})") from None
        frame, malformed_rows = read_csv(data)
    frame = _normalise_header(frame, feed)
    _check_columns(frame.columns, feed)
    extra = [c for c in frame.columns if c not in feed.column_names and c != "_row_number"]
    missing = [c.name for c in feed.columns if c.nullable and c.name not in frame.columns]
    out = _to_feed_columns(frame, feed, extra, source)
    malformed = _malformed_frame(malformed_rows, feed, source)
    if out.height + malformed.height == 0:
        raise FileRejected("empty", "the file has a header but no rows")
    return FileRead(frame=out, malformed=malformed, extra_columns=extra, missing_columns=missing)


def _read_profiled(data: bytes, name: str, feed: Feed, source: str, profile: Profile) -> FileRead:
    from pipelines.feeds import mapping  # it reads CSV with this module's reader

    try:
        rows, malformed_rows = mapping.read_source_rows(data, name, profile)
        mapped = mapping.apply_profile(rows, profile, feed, from_text=mapping.source_format(name, profile) == "csv")
    except ProfileError as exc:
        raise ProfileError(exc.file, exc.key, f"{exc.message}, in {source}") from None
    out = mapped.select(*feed.column_names, pl.lit(source).alias("_source_file"), "_row_number", "_extra")
    malformed = _malformed_frame(malformed_rows, feed, source)
    if out.height + malformed.height == 0:
        raise FileRejected("empty", "the file has a header but no rows")
    missing = mapping.unmapped_optional(rows.columns, profile, feed)
    return FileRead(frame=out, malformed=malformed, missing_columns=missing)


# pandas writes its index as a column of this name (`to_parquet` of a filtered frame): not the user's data.
PANDAS_INDEX = re.compile(r"__index_level_\d+__")


def _read_parquet(data: bytes, feed: Feed) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several types for a corrupt file
        raise FileRejected("unreadable", f"not a Parquet file ({first_line(exc)})") from None
    frame = frame.drop([c for c in frame.columns if PANDAS_INDEX.fullmatch(c)])
    return _as_text(frame, feed).with_row_index("_row_number", offset=1)


def _as_text(frame: pl.DataFrame, feed: Feed) -> pl.DataFrame:
    contract = {normal_name(c.name): c.dtype for c in feed.columns}
    columns = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        wanted = contract.get(normal_name(name))
        if dtype.is_float():
            # pandas stores a missing value of a numeric column as NaN, and an int column with one as floats:
            # NaN is a missing value, and 3.0 in an int column is the integer 3 (3.5 stays, and breaks `type:`).
            col = pl.when(col.is_nan()).then(None).otherwise(col)
            if wanted == "int":
                col = (
                    pl.when(col == col.round()).then(col.cast(pl.Int64).cast(pl.String)).otherwise(col.cast(pl.String))
                )
        if isinstance(dtype, pl.Datetime):
            # Render in UTC with an explicit offset so the text parses back to the same instant.
            if dtype.time_zone is not None:
                col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            text = col.dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
            if wanted == "date":
                # pandas has no date type: a date column arrives as midnight timestamps, which are those dates.
                # Any other time of day is kept, and breaks `type:` (the value is not a date).
                col = pl.when(col.dt.time() == pl.time(0)).then(col.dt.strftime("%Y-%m-%d")).otherwise(text)
            else:
                col = text
        elif isinstance(dtype, pl.Struct):
            col = col.struct.json_encode()  # with its field names (a plain cast drops them)
        try:
            columns.append(frame.select(col.cast(pl.String).alias(name)).to_series())
        except pl.exceptions.PolarsError:
            # A list, duration or other type with no text form used to raise out of the feed's whole
            # ingest (failing every run while the file stayed); it is the file that cannot be read.
            raise FileRejected("unreadable", f"column {name!r} has type {dtype}, which has no text form") from None
    return pl.DataFrame(columns)


# A malformed CSV row: (row number, its fields as far as they split, the line as sent, why).
Malformed = tuple[int, list[str], str, str]

# A quoted field that opens and closes on one line ("" inside is an escaped quote).
_QUOTED_FIELD = r'"(?:[^"]|"")*"'
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_csv(
    data: bytes, delimiter: str = ",", encoding: str = "utf-8", skip_rows: int = 0
) -> tuple[pl.DataFrame, list[Malformed]]:
    """(rows, malformed rows) of a CSV file; the options are a profile's (`encoding` as Python names it, and
    `skip_rows` lines before the header)."""
    if not data.strip():
        raise FileRejected("empty", "the file is empty")
    utf8 = codecs.lookup(encoding).name == "utf-8"
    if utf8 and (data.startswith(_UTF16_BOMS) or _looks_like_utf16(data[:8192])):
        # UTF-16 (Excel's "Unicode text") is text, not binary: say what to do about it.
        raise FileRejected("encoding", "not UTF-8: the file is UTF-16 text (save the file as UTF-8)")
    if utf8 and b"\x00" in data[:8192]:
        raise FileRejected("unreadable", "binary content, not CSV text")
    try:
        # utf-8-sig: a byte-order mark is not part of the first column's name (polars drops it too).
        text = data.decode("utf-8-sig" if utf8 else encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        named = "UTF-8" if utf8 else encoding
        fix = "save the file as UTF-8" if utf8 else "check the profile's csv: encoding"
        raise FileRejected("encoding", f"not {named}: byte 0x{data[exc.start]:02x} on line {line} ({fix})") from None
    if not utf8 or skip_rows or text.startswith("\ufeff"):
        text = text.removeprefix("\ufeff")  # a byte-order mark of UTF-16 or UTF-8 is no part of the header
        if skip_rows:
            text = "".join(text.splitlines(keepends=True)[skip_rows:])
            if not text.strip():
                raise FileRejected("empty", f"the file has no lines after the {skip_rows} skipped")
        data = text.encode("utf-8")
    header = _header(text, delimiter)
    lines = data.count(b"\n") + (not data.endswith(b"\n"))  # the header's included
    # polars pads a short row with nulls, reads a blank line as a row of nulls and keeps a stray CR in an
    # unquoted field; the contract quarantines the first as `malformed_row` and a blank line is no row.
    # So the fast path is taken only when every line splits into the header's fields.
    if b'"' in data:  # commas inside quoted fields do not count: line by line, without them
        per_line = pl.Series([text]).str.split("\n").explode().head(lines)
        fields = per_line.str.replace_all(_QUOTED_FIELD, "").str.count_matches(delimiter, literal=True) + 1
        splits = bool((fields == len(header)).all())
    else:
        # Without quotes, the file's commas are its lines' commas. A line with too many fields fails polars
        # (below), so when the total is right no line has too few (a short row, or a blank line).
        splits = data.count(delimiter.encode()) == lines * (len(header) - 1)
    if splits and not re.search(rb"\r[^\n]", data):
        try:
            frame = pl.read_csv(io.BytesIO(data), separator=delimiter, infer_schema=False, raise_if_empty=True)
            # Equal counts: no quoted field ran over a line end (an unclosed quote swallows the lines after it).
            if frame.height == lines - 1:
                return frame.with_row_index("_row_number", offset=1), []
        except pl.exceptions.NoDataError:
            raise FileRejected("empty", "the file is empty") from None
        except pl.exceptions.ComputeError:
            pass
    # Broken quoting or rows with a wrong field count: split the file the slow, forgiving way
    # so that the good rows still load and each bad one is quarantined with its row number.
    return _read_csv_row_by_row(text, header, delimiter)


def _looks_like_utf16(head: bytes) -> bool:
    """UTF-16 without a byte-order mark: text in it that is ASCII has a NUL in every other byte."""
    head = head[: len(head) // 2 * 2]
    return len(head) >= 8 and (head[1::2].count(0) == len(head) // 2 or head[0::2].count(0) == len(head) // 2)


def _header(text: str, delimiter: str = ",") -> list[str]:
    header = next(csv.reader([text[: text.find("\n") + 1 or len(text)]], delimiter=delimiter), [])
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        # polars would rename one copy (`x_duplicated_0`) and the row-by-row reader would drop one. Names that
        # differ only in spelling (`SKU`, `sku`) are caught with the contract's matching, `_normalise_header`.
        named = "; ".join(f"{c} ({header.count(c)} times)" for c in twice)
        raise FileRejected("unreadable", f"the header names column(s) more than once: {named}")
    return header


class _Lines:
    """The file's lines for csv.reader, with the position it has read to (so a bad row can be re-read)."""

    def __init__(self, text: str):
        self.lines = [line + "\n" for line in text.split("\n")]
        self.lines[-1] = self.lines[-1][:-1]  # the text's end is not a newline
        if self.lines[-1] == "":
            self.lines.pop()
        self.pos = 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _read_csv_row_by_row(text: str, header: list[str], delimiter: str = ",") -> tuple[pl.DataFrame, list[Malformed]]:
    src = _Lines(text)
    # strict: a quote in the wrong place is an error rather than silently dropped from the value.
    rows = csv.reader(src, strict=True, delimiter=delimiter)
    next(rows)  # the header
    good: list[list[str | None]] = []
    numbers: list[int] = []
    malformed: list[Malformed] = []
    number = 0
    while True:
        start = src.pos
        try:
            row, error = next(rows), None
        except StopIteration:
            break
        except csv.Error as exc:
            row, error = None, str(exc)
        number += 1
        used = src.lines[start : src.pos]
        if row == []:
            continue  # a blank line holds nothing; it keeps its number so later rows match the file
        # A row over several lines is a quoted line break, or an unclosed quote that swallowed the rows after
        # it (to the end of the file, an error, or the next quote: then the quotes it holds do not pair up).
        paired = len(used) == 1 or sum(line.count('"') for line in used) % 2 == 0
        if row is not None and len(row) == len(header) and paired:
            good.append([v if v != "" else None for v in row])
            numbers.append(number)
            continue
        resplit = error is not None or not paired
        if resplit:
            # Only the first line is the bad row: read on from the next one.
            src.pos = start + 1
            rows = csv.reader(src, strict=True, delimiter=delimiter)
            used = used[:1]
        sent = "".join(used).removesuffix("\n").removesuffix("\r")  # as sent, without its line break
        if resplit:
            row = _split_line(sent, delimiter)
        if resplit and sent.count('"') % 2 == 1:
            why = "has a quote that is not closed on its line (check quoting)"
        elif error is not None:
            said = _CSV_ERRORS.get(error.replace(repr(delimiter), "','"), f"cannot be split into fields ({error})")
            why = f"{said} (check quoting and separators)"
        else:
            why = f"has {len(row)} fields, the header has {len(header)} (check quoting and separators)"
        malformed.append((number, row, sent, why))
    frame = pl.DataFrame(good, schema=[(c, pl.String) for c in header], orient="row")
    frame = frame.with_columns(pl.Series("_row_number", numbers, dtype=pl.UInt32))
    return frame, malformed


# What Python's csv module says, in the words of the rest of the messages.
_CSV_ERRORS = {
    "new-line character seen in unquoted field - do you need to open the file in universal-newline mode?": (
        "has a carriage return outside quotes"
    ),
    "',' expected after '\"'": "has text after a closing quote",
}


def _split_line(line: str, delimiter: str = ",") -> list[str]:
    """One line's fields, as far as they split (what a bad row's fields were meant to be)."""
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


def normal_name(name: str) -> str:
    """A header name as it is matched to the contract: exports write `Quantity Shipped`, `quantity-shipped` or
    `QuantityShipped` for `quantity_shipped`, so case, blanks, `_` and `-` do not count."""
    return re.sub(r"[\s_\-]+", "", name).lower()


def _normalise_header(frame: pl.DataFrame, feed: Feed) -> pl.DataFrame:
    """Contract columns renamed to the contract's names; every other column keeps its name as sent (stripped)."""
    contract = {normal_name(c): c for c in feed.column_names}
    names = {c: contract.get(normal_name(c), c.strip()) for c in frame.columns if c != "_row_number"}
    sources: dict[str, list[str]] = {}
    for source, target in names.items():
        sources.setdefault(target, []).append(source)
    twice = {target: found for target, found in sources.items() if len(found) > 1}
    if twice:
        # Two names for one column (`SKU` and `sku`) used to raise out of the feed's whole ingest.
        named = "; ".join(f"{t} ({', '.join(repr(n) for n in found)})" for t, found in sorted(twice.items()))
        raise FileRejected("unreadable", f"the header names column(s) more than once: {named}")
    return frame.rename(names)


def _check_columns(columns: list[str], feed: Feed) -> None:
    missing = [c for c in feed.required_columns if c not in columns]
    if missing:
        raise FileRejected("missing_columns", f"missing required column(s): {', '.join(missing)}")


def _to_feed_columns(frame: pl.DataFrame, feed: Feed, extra: list[str], source: str) -> pl.DataFrame:
    columns = [
        pl.col(c.name) if c.name in frame.columns else pl.lit(None, pl.String).alias(c.name) for c in feed.columns
    ]
    extra_json = (pl.struct(extra).struct.json_encode() if extra else pl.lit(None, pl.String)).alias("_extra")
    return frame.select(
        *columns,
        pl.lit(source).alias("_source_file"),
        pl.col("_row_number").cast(pl.Int64),
        extra_json,
    )


def _malformed_frame(rows: list[Malformed], feed: Feed, source: str) -> pl.DataFrame:
    """Quarantine rows for lines that did not split into fields; `_extra` holds the line exactly as sent
    (`line`, without its line break) and the fields it splits into as far as it does (`fields`)."""
    return pl.DataFrame(
        {
            **{c: [None] * len(rows) for c in feed.column_names},
            "_source_file": [source] * len(rows),
            "_row_number": [n for n, _, _, _ in rows],
            "_extra": [json.dumps({"line": line, "fields": fields}) for _, fields, line, _ in rows],
            "_rule": ["malformed_row"] * len(rows),
            "_rules": [["malformed_row"]] * len(rows),
            "_reason": [f"malformed_row: {why}" for _, _, _, why in rows],
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


def first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
