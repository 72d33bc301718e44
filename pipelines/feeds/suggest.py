"""`scm profile suggest`: a draft profile for an export, from a sample of it.

It guesses how the file is written (encoding, delimiter, decimal and thousands marks, date formats) and
which of its columns are the feed's (by name, reusing the header matching of `reader.normal_name` and the
near-miss matching of `misnamed.look_alike`, and by type), and writes every guess with a comment for the
user to confirm. Required columns it finds nothing for are listed, commented out, under `defaults:` with a
TODO, so that the draft fails loudly (a missing required column) rather than loading a made-up value.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from pathlib import Path

from pipelines.feeds.contract import FEEDS, Feed
from pipelines.feeds.mapping import read_source
from pipelines.feeds.misnamed import _words, look_alike
from pipelines.feeds.profile import Profile, ProfileError, Source, builtin_names, builtin_profile
from pipelines.feeds.reader import FileRejected, normal_name

# Enough rows to see every format a column uses, few enough to read any export at once.
SAMPLE_BYTES = 1024**2
SAMPLE_ROWS = 500
DELIMITERS = (",", ";", "\t", "|")

# Date formats exports write, the ISO ones first; a value fits a format only if strptime takes all of it.
DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%d.%m.%y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d-%b-%y",
    "%d-%b-%Y",
    "%d %b %Y",
    "%b %d, %Y",
)
TIME_FORMATS = ("%H:%M:%S", "%H:%M")
# ISO-8601 timestamps the contract reads as they are (rules._parse_ts).
_ISO_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")

# Which source types can feed a contract type.
_FITS = {
    "str": {"str", "int", "dec", "date", "ts"},
    "int": {"int"},
    "dec": {"int", "dec"},
    "date": {"date", "ts"},
    "ts": {"ts", "date"},
}


class SuggestError(Exception):
    """The file cannot be sampled at all (empty, binary); one line."""


@dataclass
class SourceColumn:
    name: str
    dtype: str  # str | int | dec | date | ts
    date_format: str | None = None  # a strptime format, for a non-ISO date or timestamp
    ambiguous_days: bool = False  # day-first and month-first both fit every value in the sample
    values: list[str] = field(default_factory=list)  # distinct non-empty values seen (a few)
    placeholders: list[str] = field(default_factory=list)  # spellings of "no value" seen (`N/A`, `-`)


@dataclass
class Draft:
    format: str  # csv | parquet | xlsx
    encoding: str | None  # the csv: options, for a text file
    encoding_note: str | None
    delimiter: str | None
    decimal: str
    thousands: str | None
    columns: list[SourceColumn]
    mapping: dict[str, tuple[str, str]]  # contract column -> (source column, why it was matched)
    unmapped_required: list[str]
    values: dict[str, dict[str, str | None]]  # contract column -> {source code: contract code or None}
    builtins: list[str] = field(default_factory=list)  # built-in profiles that read files with this header
    text: str = ""


def detect_encoding(data: bytes) -> tuple[str, str]:
    """(encoding, why): a byte-order mark, UTF-16's NULs, valid UTF-8, else cp1252 or latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", "a UTF-16 byte-order mark"
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", "UTF-8 with a byte-order mark"
    head = data[:4096][: len(data[:4096]) // 2 * 2]
    if len(head) >= 8 and (head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4):
        return "utf-16", "NUL bytes between ASCII letters (UTF-16 without a byte-order mark)"
    try:
        # A sample may end inside a character: only a complete text counts against UTF-8.
        data.decode("utf-8") if len(data) < SAMPLE_BYTES else data[:-4].decode("utf-8")
        return "utf-8", "valid UTF-8"
    except UnicodeDecodeError:
        pass
    high = {b for b in data if 0x80 <= b <= 0x9F}
    if high & {0x81, 0x8D, 0x8F, 0x90, 0x9D}:  # undefined in cp1252
        return "latin-1", "bytes cp1252 does not define"
    if high:
        return "cp1252", "bytes 0x80-0x9f (Windows quotes, dashes, the euro sign): cp1252, not latin-1"
    return "cp1252", "not UTF-8; cp1252 and latin-1 read this file the same"


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the sample's lines into one same number (above 1) of fields most often."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        widths = Counter(len(row) for row in csv.reader(lines, delimiter=delimiter))
        width, count = widths.most_common(1)[0] if widths else (1, 0)
        score = (count if width > 1 else 0, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


_NUMBER = re.compile(r"[-+]?[\d.,' ]*\d[\d.,' ]*")
# 15.03.2024, 3/15/24: a date, whose marks say nothing about numbers.
_DATE_LIKE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")


def detect_number_marks(values: list[str]) -> tuple[str, str | None]:
    """(decimal mark, thousands mark or None) from the values that look like numbers."""
    decimal: Counter[str] = Counter()
    thousands: Counter[str] = Counter()
    for value in values:
        v = value.strip().lstrip("+-")
        if _DATE_LIKE.fullmatch(v) or not _NUMBER.fullmatch(v) or not any(m in v for m in ".,' "):
            continue
        marks = [m for m in v if m in ".,' "]
        last = marks[-1]
        if len(set(marks)) > 1:  # 1.234,56 or 1,234.56: the last mark is the decimal one
            decimal[last] += 1
            thousands[marks[0]] += 1
        elif len(marks) > 1 or last in "' ":  # 1.234.567 (a mark seen twice), 1 234 or 1'234: thousands
            thousands[last] += 1
        elif re.search(rf"\{last}\d{{3}}$", v) and not v.startswith(("0" + last, last)):
            continue  # 1,234 is a thousand or one point two three four: says nothing
        else:
            decimal[last] += 1
    mark = decimal.most_common(1)[0][0] if decimal else "."
    group = next((m for m, _ in thousands.most_common() if m != mark), None)
    return mark, group


def _is_number(value: str, decimal: str, thousands: str | None) -> str | None:
    """'int' or 'dec' when the value is a number written with these marks."""
    v = value.strip()
    if thousands:
        v = v.replace(thousands, "")
    v = v.replace(decimal, ".")
    if re.fullmatch(r"[-+]?\d+", v):
        return "int"
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", v):
        return "dec"
    return None


def _fits(values: list[str], fmt: str) -> bool:
    try:
        for v in values:
            datetime.strptime(v, fmt)
    except ValueError:
        return False
    return True


def detect_date_format(values: list[str]) -> tuple[str | None, str | None, bool]:
    """(type 'date' or 'ts', strptime format or None for ISO, day/month ambiguous) for a column of dates."""
    if all(_ISO_TS.fullmatch(v) for v in values):
        return "ts", None, False
    candidates = [(d, "date") for d in DATE_FORMATS]
    candidates += [(f"{d} {t}", "ts") for d in DATE_FORMATS for t in TIME_FORMATS]
    candidates += [(f"{d}T{t}", "ts") for d in DATE_FORMATS[:2] for t in TIME_FORMATS]
    fitting = [(fmt, kind) for fmt, kind in candidates if _fits(values, fmt)]
    if not fitting:
        return None, None, False
    fmt, kind = fitting[0]
    swapped = _swap_day_month(fmt)
    ambiguous = swapped != fmt and _fits(values, swapped)
    return kind, (None if fmt == "%Y-%m-%d" else fmt), ambiguous


def _swap_day_month(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


# What exports write for "no value"; a column's type is judged without them, and the draft maps them to null.
PLACEHOLDERS = ("n/a", "na", "#n/a", "-", "--", "null", "none", "nil", "?")


def profile_columns(
    header: list[str], rows: list[list[str]], decimal: str, thousands: str | None
) -> list[SourceColumn]:
    out = []
    for i, name in enumerate(header):
        values = [r[i].strip() for r in rows if i < len(r) and r[i].strip()]
        placeholders = list(dict.fromkeys(v for v in values if v.lower() in PLACEHOLDERS))
        values = [v for v in values if v.lower() not in PLACEHOLDERS]
        distinct = list(dict.fromkeys(values))
        column = SourceColumn(name, "str", values=distinct[:20], placeholders=placeholders)
        if not values:
            out.append(column)
            continue
        # Dates first: with `.` grouping thousands, 15.03.2024 would read as the number 15032024.
        kind, fmt, ambiguous = detect_date_format(values)
        kinds = {_is_number(v, decimal, thousands) for v in values}
        if kind:
            column.dtype, column.date_format, column.ambiguous_days = kind, fmt, ambiguous
        elif kinds <= {"int"}:
            column.dtype = "int"
        elif kinds <= {"int", "dec"}:
            column.dtype = "dec"
        out.append(column)
    return out


def map_columns(columns: list[SourceColumn], feed: Feed) -> dict[str, tuple[str, str]]:
    """Contract column -> (source column, why): the same name as the reader matches it, then a near miss
    (misnamed.look_alike), then most words in common; each only when the source's type can feed the column."""
    mapping: dict[str, tuple[str, str]] = {}
    used: set[str] = set()

    def fits(source: SourceColumn, target: str) -> bool:
        return source.dtype in _FITS[feed.column(target).dtype]

    for source in columns:
        for target in feed.column_names:
            if target not in mapping and normal_name(source.name) == normal_name(target):
                mapping[target] = (source.name, "the same name")
                used.add(source.name)
    for source in columns:
        if source.name in used:
            continue
        free = [t for t in feed.column_names if t not in mapping and fits(source, t)]
        match = look_alike(source.name, free)
        if match is not None:
            mapping[match] = (source.name, "a similar name")
            used.add(source.name)
    for source in columns:
        if source.name in used:
            continue
        words = _loose_words(source.name)
        best, best_score = None, 0.0
        for target in feed.column_names:
            if target in mapping or not fits(source, target):
                continue
            theirs = _loose_words(target)
            score = len(words & theirs) / len(words | theirs) if words and theirs else 0
            if score > best_score:
                best, best_score = target, score
        if best is not None and best_score >= 0.5:
            mapping[best] = (source.name, "words in common with the name (a weak guess)")
            used.add(source.name)
    return mapping


# For the weakest guess, words that name the same kind of thing in export headers: `PO Number` for `po_id`,
# `Order Date` for `order_ts`, `Last Modified` for `updated_at` (None: a word that says nothing).
_LOOSE = {
    "number": "id",
    "code": "id",
    "date": "time",
    "timestamp": "time",
    "modified": "updated",
    "changed": "updated",
    "last": None,
    "at": None,
}


def _loose_words(name: str) -> set[str]:
    return {_LOOSE.get(w, w) for w in _words(name)} - {None}


def map_codes(values: list[str], allowed: tuple[str, ...]) -> dict[str, str | None]:
    """Source code -> contract code for the codes that are not contract codes already (None: no guess)."""
    out: dict[str, str | None] = {}
    for value in values:
        if value in allowed:
            continue
        norm = normal_name(value).replace("canceled", "cancelled")
        best, best_score = None, 0.6
        for code in allowed:
            target = normal_name(code)
            score = (
                1.0
                if norm.startswith(target) or target.startswith(norm)
                else SequenceMatcher(None, norm, target).ratio()
            )
            if score > best_score:
                best, best_score = code, score
        out[value] = best
    return out


def sample(path: Path) -> bytes:
    """The file's first SAMPLE_BYTES (of its content, for a gzip file)."""
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as fh:  # streamed: a sample of a large file is not decompressed whole
                data = fh.read(SAMPLE_BYTES)
        else:
            with open(path, "rb") as fh:
                data = fh.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise SuggestError(f"cannot be read ({exc})") from None
    if not data.strip():
        raise SuggestError("the file is empty")
    return data


def _typed_rows(path: Path, fmt: str) -> tuple[list[str], list[list[str]]]:
    """(header, rows as text) of a Parquet file or a workbook's first sheet, read as the profile reader reads it."""
    try:
        frame = read_source(path.read_bytes(), path.name, Profile(source=path.name, format=fmt))
    except FileRejected as exc:
        raise SuggestError(exc.message) from None
    header = [c for c in frame.columns if c != "_row_number"]
    body = [[v or "" for v in row] for row in frame.select(header).head(SAMPLE_ROWS).iter_rows()]
    return header, body


def suggest_profile(path: Path, feed: Feed) -> Draft:
    """A draft profile for the file at `path` as the feed (its text in `Draft.text`)."""
    lower = path.name.lower()
    fmt = "parquet" if lower.endswith(".parquet") else "xlsx" if lower.endswith(".xlsx") else "csv"
    encoding = why = delimiter = None
    if fmt == "csv":
        data = sample(path)
        encoding, why = detect_encoding(data)
        text = data.decode(encoding, errors="replace").lstrip("\ufeff")
        if len(data) >= SAMPLE_BYTES:
            text = text[: text.rfind("\n") + 1]  # the last line of a sample may be cut short
        if "\x00" in text:
            raise SuggestError("binary content, not delimited text")
        delimiter = detect_delimiter(text)
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(v.strip() for v in r)]
        if not rows:
            raise SuggestError("no header line")
        header, body = [h.strip() for h in rows[0]], rows[1 : SAMPLE_ROWS + 1]
        decimal, thousands = detect_number_marks([v for r in body for v in r])
    else:
        # Typed cells: numbers and dates are values, not text in a local format.
        header, body = _typed_rows(path, fmt)
        decimal, thousands = ".", None
    columns = profile_columns(header, body, decimal, thousands)
    mapping = map_columns(columns, feed)
    by_name = {c.name: c for c in columns}
    code_lists = {r.column: r.values for r in feed.all_rules() if r.kind == "in_set"}
    values = {}
    for target, allowed in code_lists.items():
        if target in mapping:
            codes = map_codes(by_name[mapping[target][0]].values, allowed)
            if codes:
                values[target] = codes
    unmapped = [c.name for c in feed.columns if not c.nullable and c.name not in mapping]
    draft = Draft(fmt, encoding, why, delimiter, decimal, thousands, columns, mapping, unmapped, values)
    draft.builtins = fitting_builtins(header, feed)
    draft.text = render(draft, feed, path.name)
    return draft


# A built-in profile fits a file whose header has at least this share of the source columns it maps.
BUILTIN_FIT = 0.8


def fitting_builtins(header: list[str], feed: Feed) -> list[str]:
    """The built-in profiles of the feed whose source columns the header has (then `profile: NAME` is the
    whole profile)."""
    names = {normal_name(h) for h in header}
    out = []
    for name in builtin_names():
        sources = _builtin_sources(name, feed.name)
        if sources and len(sources & names) >= BUILTIN_FIT * len(sources):
            out.append(name)
    return out


@functools.cache
def _builtin_sources(name: str, feed: str) -> frozenset[str]:
    """The source columns a built-in profile maps (normal names), none when it is for another feed. Cached:
    validating a profile parses its SQL."""
    try:
        builtin = builtin_profile(name, FEEDS[feed])
    except ProfileError:
        return frozenset()
    return frozenset(normal_name(m.column) for m in builtin.columns.values() if isinstance(m, Source))


def _q(value: str) -> str:
    """A YAML scalar in double quotes (JSON's string syntax is YAML's)."""
    return json.dumps(value, ensure_ascii=False)


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _column_value(source: SourceColumn, target_type: str) -> tuple[str, str]:
    """(the YAML value for a mapped column, a note about its format)."""
    if source.date_format is None or target_type not in ("date", "ts"):
        return _q(source.name), ""
    quoted = source.name.replace('"', '""')
    expr = f"try_strptime(\"{quoted}\", '{source.date_format}')"
    if target_type == "date":
        expr += "::date"
    note = f"; dates written {source.date_format}"
    if source.placeholders:
        note += f", {' and '.join(source.placeholders)} read as missing"
    if source.ambiguous_days:
        note += " (GUESS: no day above 12 in the sample, so day-first and month-first both fit: confirm)"
    elif "%d" in source.date_format and "%m" in source.date_format:
        first = "day-first" if source.date_format.index("%d") < source.date_format.index("%m") else "month-first"
        note += f" ({first}: a value in the sample is only valid that way)"
    return "{sql: " + _q(expr) + "}", note


def render(draft: Draft, feed: Feed, file_name: str) -> str:
    by_name = {c.name: c for c in draft.columns}
    lines = [
        f"# Draft profile for the {feed.name} feed, suggested from {file_name}.",
        "# Every line marked GUESS is a guess from a sample of the file: confirm or correct it, then run",
        f"# `scm check` on a file to see what would load. Save as <landing>/{feed.name}/_profile.yml.",
    ]
    for name in draft.builtins:
        lines += [
            f"# The file has the columns of the built-in profile {name}: `profile: {name}` alone may be all this",
            "# folder needs (docs/your-data.md); the draft below is the guess without it.",
        ]
    lines.append(f"format: {draft.format}")
    if draft.format == "xlsx":
        lines.append("# sheet: NAME   # the first sheet was read; name another one here")
    if draft.format == "csv":
        lines += [
            "csv:",
            f"  delimiter: {_q(draft.delimiter)}  # GUESS: {_DELIMITER_NAMES[draft.delimiter]}",
            f"  decimal: {_q(draft.decimal)}  # GUESS: from the numbers in the sample",
        ]
        if draft.thousands:
            lines.append(f"  thousands: {_q(draft.thousands)}  # GUESS: from the numbers in the sample")
        lines.append(f"  encoding: {draft.encoding}  # GUESS: {draft.encoding_note}")
    lines.append("columns:")
    for column in feed.columns:
        if column.name not in draft.mapping:
            continue
        source_name, why = draft.mapping[column.name]
        source = by_name[source_name]
        value, note = _column_value(source, column.dtype)
        lines.append(f"  {column.name}: {value}  # GUESS: {why}, {source.dtype} values{note}")
    unused = [c.name for c in draft.columns if c.name not in {s for s, _ in draft.mapping.values()}]
    for column in feed.columns:
        if column.nullable and column.name not in draft.mapping:
            lines.append(
                f"  # {column.name}:   # optional ({column.dtype}): no column found; map one if the file has it"
            )
    if unused:
        lines.append(f"# not mapped (loaded as extra columns): {', '.join(unused)}")
    # A placeholder of a column mapped through SQL is null already (try_strptime); elsewhere `values:` nulls it.
    placeholders = {
        target: by_name[source].placeholders
        for target, (source, _) in draft.mapping.items()
        if by_name[source].placeholders and by_name[source].date_format is None
    }
    targets = [c.name for c in feed.columns if c.name in draft.values or c.name in placeholders]
    if targets:
        lines.append("values:")
    for target in targets:
        codes = draft.values.get(target, {})
        allowed = next((r.values for r in feed.all_rules() if r.kind == "in_set" and r.column == target), ())
        lines.append(f"  {target}:" + (f"  # the contract's codes: {', '.join(allowed)}" if allowed else ""))
        for code in placeholders.get(target, []):
            lines.append(f"    {_q(code)}: null  # GUESS: written for a missing value")
        for code, guess in codes.items():
            if guess is None:
                lines.append(
                    f"    # {_q(code)}:   # TODO: no contract code looks like it (unmapped, it is quarantined)"
                )
            else:
                lines.append(f"    {_q(code)}: {guess}  # GUESS")
    if draft.unmapped_required:
        lines.append("# TODO: required columns no column of the file maps to: give each one value for every row")
        lines.append("# (uncomment it), or map a source column to it under columns:")
        lines.append("# defaults:")
        for name in draft.unmapped_required:
            lines.append(f"#   {name}: ...  # TODO ({feed.column(name).dtype})")
    return "\n".join(lines) + "\n"
