"""Feed profiles: how the files of one landing folder map onto the feed's contract
(docs/feed-contract.md, "Mapping your own exports").

A `_profile.yml` in `<landing>/<feed>/` applies to every file of that folder. It names the reading options
(`format`, `csv:`, `sheet`), what each contract column is (`columns:`: a source column, a constant
`{value: ...}` or a DuckDB SQL expression `{sql: ...}` over the source row), code lists (`values:`) and
constants for required columns the export lacks (`defaults:`). `profile: <name>` starts from a built-in
profile of `profiles/<name>.yml`; the folder's own keys then override it (per option, column or code).

The profile is validated as a whole before any file of the folder is read: a mistake in it is one
`ProfileError` naming the profile file and key, and the folder's files wait for it to be fixed
(pipelines/feeds/ingest.py). The mapping itself is pipelines/feeds/mapping.py.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from pipelines.feeds.contract import Feed

PROFILE_FILE = "_profile.yml"
BUILTIN_DIR = Path(__file__).parent / "profiles"
FORMATS = ("csv", "parquet", "xlsx")
# Keys that describe a profile for people (and the docs), and are not read otherwise.
DESCRIPTIVE_KEYS = ("description", "documentation")
TOP_KEYS = ("profile", "feed", "format", "csv", "sheet", "columns", "values", "defaults", *DESCRIPTIVE_KEYS)


class ProfileError(Exception):
    """A profile that cannot be used, in one line: `<profile file>: <key>: <what is wrong>`."""

    def __init__(self, file: str, key: str, message: str):
        self.file, self.key, self.message = file, key, message
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str = ","
    decimal: str = "."
    thousands: str | None = None
    encoding: str = "utf-8"
    skip_rows: int = 0  # lines before the header (a report title, an export date)


@dataclass(frozen=True)
class Source:
    """The value of a source column, by its name as sent."""

    column: str


@dataclass(frozen=True)
class Constant:
    value: str


@dataclass(frozen=True)
class Sql:
    """A DuckDB SQL expression over the source row; its columns are quoted identifiers, all text."""

    sql: str


Mapping = Source | Constant | Sql


@dataclass(frozen=True)
class Profile:
    source: str  # the file it came from, or "builtin:<name>"
    format: str | None  # csv | parquet | xlsx; None: by the file's suffix
    csv: CsvOptions = field(default_factory=CsvOptions)
    sheet: str | int | None = None  # xlsx: a sheet name, or its number from 1 (default: the first)
    columns: dict[str, Mapping] = field(default_factory=dict)
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)  # a null target maps the code to null
    defaults: dict[str, str] = field(default_factory=dict)
    description: str | None = None

    @property
    def maps_nothing(self) -> bool:
        """No option, column, code or default (a profile of comments only, as `scm init` writes): a CSV or Parquet
        file is then read as without a profile."""
        return (self.format, self.csv, self.sheet, self.columns, self.values, self.defaults) == (
            None,
            CsvOptions(),
            None,
            {},
            {},
            {},
        )


class _Loader(yaml.SafeLoader):
    """YAML without guessed booleans, floats and timestamps: `NO`, `off`, `1.10` and `2024-01-01` are codes and
    values as written (YAML 1.1 would read them as false, 1.1 and a date). Integers stay for `skip_rows`."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag.rsplit(":", 1)[-1] not in ("bool", "float", "timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_profile(folder: Path, feed: Feed) -> Profile | None:
    """The profile of a landing folder (None when it has no `_profile.yml`); ProfileError when it is invalid."""
    path = folder / PROFILE_FILE
    if not path.is_file():
        return None
    name = f"{folder.name}/{PROFILE_FILE}"
    raw = _read_yaml(path, name)
    if not raw:
        return None  # all comments (the example `scm init` writes): the folder's files load as without one
    base = None
    if "profile" in raw:
        builtin = raw["profile"]
        if not isinstance(builtin, str) or not builtin:
            raise ProfileError(name, "profile", "must be the name of a built-in profile")
        try:
            base = _raw_builtin(builtin)
        except ProfileError as exc:
            raise ProfileError(name, "profile", exc.message) from None
        _check_feed(base, feed, f"builtin:{builtin}", name)
        raw = _merge(base, raw)
    return parse_profile(raw, feed, name)


def has_profile(folder: Path) -> bool:
    """Whether the folder's files are read through a profile: it has a `_profile.yml` that is more than
    comments (an unreadable or invalid one counts: its files wait for it to be fixed)."""
    path = folder / PROFILE_FILE
    if not path.is_file():
        return False
    try:
        return bool(_read_yaml(path, PROFILE_FILE))
    except ProfileError:
        return True


def builtin_profile(name: str, feed: Feed) -> Profile:
    """A built-in profile (`profiles/<name>.yml`) for the feed."""
    raw = _raw_builtin(name)
    source = f"builtin:{name}"
    _check_feed(raw, feed, source, source)
    return parse_profile(raw, feed, source)


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yml")) if BUILTIN_DIR.is_dir() else []


def _raw_builtin(name: str) -> dict:
    path = BUILTIN_DIR / f"{name}.yml"
    if "/" in name or not path.is_file():
        known = ", ".join(builtin_names()) or "none"
        raise ProfileError(f"builtin:{name}", "profile", f"no built-in profile {name!r} (built-in: {known})")
    raw = _read_yaml(path, f"builtin:{name}")
    if "profile" in raw:
        raise ProfileError(f"builtin:{name}", "profile", "a built-in profile cannot start from another one")
    return raw


def _check_feed(raw: dict, feed: Feed, source: str, file: str) -> None:
    meant = raw.get("feed")
    if meant is not None and meant != feed.name:
        raise ProfileError(file, "profile", f"{source} is a profile for the {meant} feed, not {feed.name}")


def _read_yaml(path: Path, name: str) -> dict:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader
    except OSError as exc:
        raise ProfileError(name, "", f"cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ProfileError(name, "", "not UTF-8 text (save it as UTF-8)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" on line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileError(name, "", f"not valid YAML{where}: {problem}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ProfileError(name, "", "must be a mapping of keys (format, csv, columns, values, defaults, ...)")
    return raw


def _merge(base: dict, local: dict) -> dict:
    """A built-in profile with the folder's keys over it: per option, per column and per code."""
    out = {k: v for k, v in base.items()}
    for key, value in local.items():
        if key == "profile":
            continue
        if (
            key in ("csv", "columns", "defaults", "values")
            and isinstance(value, dict)
            and isinstance(out.get(key), dict)
        ):
            merged = dict(out[key])
            if key == "values":
                for column, codes in value.items():
                    old = merged.get(column)
                    merged[column] = {**old, **codes} if isinstance(old, dict) and isinstance(codes, dict) else codes
            else:
                merged.update(value)
            out[key] = merged
        else:
            out[key] = value
    # A column the folder maps (or defaults) is no longer defaulted (or mapped) by the built-in.
    for mine, theirs in (("columns", "defaults"), ("defaults", "columns")):
        if isinstance(local.get(mine), dict) and isinstance(out.get(theirs), dict):
            out[theirs] = {c: v for c, v in out[theirs].items() if c not in local[mine] or c in local.get(theirs, {})}
    return out


def parse_profile(raw: dict, feed: Feed, source: str) -> Profile:
    """A validated Profile from the YAML's mapping; ProfileError naming the first key that is wrong."""
    for key in raw:
        if key not in TOP_KEYS:
            raise ProfileError(source, str(key), f"unknown key (known: {', '.join(TOP_KEYS)})")
    fmt = raw.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise ProfileError(source, "format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    sheet = raw.get("sheet")
    if sheet is not None and (not isinstance(sheet, int | str) or (isinstance(sheet, int) and sheet < 1)):
        raise ProfileError(source, "sheet", "must be a sheet name or its number from 1")
    description = raw.get("description")
    return Profile(
        source=source,
        format=fmt,
        csv=_csv_options(raw.get("csv"), source),
        sheet=sheet,
        columns=_columns(raw.get("columns"), feed, source),
        values=_values(raw.get("values"), feed, source),
        defaults=_defaults(raw.get("defaults"), raw.get("columns") or {}, feed, source),
        description=description if isinstance(description, str) else None,
    )


def _mapping(value: Any, source: str, key: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProfileError(source, key, "must be a mapping")
    return value


def _csv_options(raw: Any, source: str) -> CsvOptions:
    raw = _mapping(raw, source, "csv")
    known = CsvOptions.__dataclass_fields__
    for key in raw:
        if key not in known:
            raise ProfileError(source, f"csv.{key}", f"unknown option (known: {', '.join(known)})")
    options: dict[str, Any] = {}
    for key in ("delimiter", "decimal", "thousands"):
        if key not in raw or (key == "thousands" and raw[key] is None):
            continue
        value = raw[key]
        if not isinstance(value, str) or len(value) != 1:
            raise ProfileError(source, f"csv.{key}", f'must be one character (got {value!r}; a tab is "\\t")')
        options[key] = value
    if options.get("decimal", ".") not in ".,":
        raise ProfileError(source, "csv.decimal", f'must be "." or "," (got {options["decimal"]!r})')
    if options.get("thousands") is not None and options.get("thousands") == options.get("decimal", "."):
        raise ProfileError(source, "csv.thousands", "cannot be the decimal mark too")
    if options.get("delimiter", ",") == options.get("decimal", ".") and options.get("delimiter") is not None:
        raise ProfileError(source, "csv.delimiter", "cannot be the decimal mark too")
    if "encoding" in raw:
        encoding = raw["encoding"]
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            raise ProfileError(
                source, "csv.encoding", f"unknown encoding {encoding!r} (e.g. utf-8, cp1252, latin-1)"
            ) from None
        options["encoding"] = str(encoding)
    if "skip_rows" in raw:
        skip = raw["skip_rows"]
        if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
            raise ProfileError(source, "csv.skip_rows", f"must be a whole number of lines, 0 or more (got {skip!r})")
        options["skip_rows"] = skip
    return CsvOptions(**options)


def _contract_column(column: Any, feed: Feed, source: str, key: str) -> str:
    if column not in feed.column_names:
        raise ProfileError(source, f"{key}.{column}", f"not a column of the {feed.name} feed's contract")
    return column


def _text(value: Any) -> str:
    """A YAML scalar as the text it stands for (an integer is written as digits)."""
    return value if isinstance(value, str) else json.dumps(value) if not isinstance(value, int) else str(value)


def _columns(raw: Any, feed: Feed, source: str) -> dict[str, Mapping]:
    out: dict[str, Mapping] = {}
    for column, spec in _mapping(raw, source, "columns").items():
        key = f"columns.{_contract_column(column, feed, source, 'columns')}"
        if isinstance(spec, str):
            if not spec:
                raise ProfileError(source, key, "names no source column")
            out[column] = Source(spec)
        elif isinstance(spec, dict) and len(spec) == 1 and "value" in spec:
            if spec["value"] is None or isinstance(spec["value"], dict | list):
                raise ProfileError(source, key, "value: must be a constant (a text or number)")
            out[column] = Constant(_text(spec["value"]))
        elif isinstance(spec, dict) and len(spec) == 1 and "sql" in spec:
            if not isinstance(spec["sql"], str) or not spec["sql"].strip():
                raise ProfileError(source, key, "sql: must be a SQL expression")
            problem = sql_problem(spec["sql"])
            if problem:
                raise ProfileError(source, key, f"SQL does not parse: {problem}")
            out[column] = Sql(spec["sql"])
        else:
            raise ProfileError(source, key, "must be a source column's name, {value: CONSTANT} or {sql: EXPRESSION}")
    return out


def _values(raw: Any, feed: Feed, source: str) -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {}
    for column, codes in _mapping(raw, source, "values").items():
        key = f"values.{_contract_column(column, feed, source, 'values')}"
        codes = _mapping(codes, source, key)
        mapped: dict[str, str | None] = {}
        for code, target in codes.items():
            if code is None or isinstance(code, dict | list) or isinstance(target, dict | list):
                raise ProfileError(source, key, f"{code!r}: must map a source code to a contract code")
            mapped[_text(code)] = None if target is None else _text(target)
        out[column] = mapped
    return out


def _defaults(raw: Any, columns: Any, feed: Feed, source: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for column, value in _mapping(raw, source, "defaults").items():
        key = f"defaults.{_contract_column(column, feed, source, 'defaults')}"
        if value is None or isinstance(value, dict | list):
            raise ProfileError(source, key, "must be a constant (a text or number)")
        if isinstance(columns, dict) and column in columns:
            raise ProfileError(source, key, "the column is mapped in columns: too (give it one or the other)")
        out[column] = _text(value)
    return out


def sql_problem(expression: str) -> str | None:
    """Why a SQL expression does not parse as one DuckDB expression (None when it does)."""
    con = duckdb.connect()
    try:
        # In parentheses: the expression is one value, not a way to end the select and start another statement.
        (text,) = con.execute("select json_serialize_sql(?)", [f"select ({expression}) from _source"]).fetchall()[0]
    finally:
        con.close()
    parsed = json.loads(text)
    if parsed.get("error"):
        return parsed.get("error_message", "syntax error")
    if len(parsed.get("statements", [])) != 1:
        return "more than one statement"
    return None
