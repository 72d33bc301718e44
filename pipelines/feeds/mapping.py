"""Read an export as sent and map it onto the feed's columns with its profile (pipelines/feeds/profile.py).

`read_source` gives every source column as text under its name as sent; `apply_profile` gives the feed's
columns as text, ready for the contract (rules.py casts and judges them as for any other file), with the
whole source row as sent in `_extra`, so that a quarantined row shows what the user's system wrote.
Numbers are normalised from the profile's decimal and thousands marks for the contract's int and dec
columns; codes are translated by `values:` (a code not in the list stays as sent, and the contract's
list of codes quarantines it naming the code); a constant of `defaults:` fills a column left unmapped.
"""

from __future__ import annotations

import gzip
import io
import re

import duckdb
import polars as pl

from pipelines.feeds import reader
from pipelines.feeds.contract import Feed
from pipelines.feeds.profile import Constant, Profile, ProfileError, Source, Sql


def source_format(name: str, profile: Profile) -> str:
    """csv | parquet | xlsx: the profile's `format`, or the file's suffix."""
    if profile.format:
        return profile.format
    lower = name.lower()
    return "parquet" if lower.endswith(".parquet") else "xlsx" if lower.endswith(".xlsx") else "csv"


def read_source(data: bytes, name: str, profile: Profile) -> pl.DataFrame:
    """Every source column as text, names as sent, plus `_row_number` (data rows from 1). CSV rows that do
    not split into the header's fields are left out here; `read_source_rows` returns them too."""
    return read_source_rows(data, name, profile)[0]


def read_source_rows(data: bytes, name: str, profile: Profile) -> tuple[pl.DataFrame, list[reader.Malformed]]:
    """(source rows, malformed CSV rows); raises reader.FileRejected for a file that cannot be read."""
    fmt = source_format(name, profile)
    if name.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise reader.FileRejected("unreadable", f"not a gzip file ({exc})") from None
    if fmt == "parquet":
        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except Exception as exc:  # polars raises several types for a corrupt file
            raise reader.FileRejected("unreadable", f"not a Parquet file ({reader.first_line(exc)})") from None
        frame = frame.drop([c for c in frame.columns if reader.PANDAS_INDEX.fullmatch(c)])
        return _as_text(frame).with_row_index("_row_number", offset=1), []
    if fmt == "xlsx":
        return _read_xlsx(data, profile).with_row_index("_row_number", offset=1), []
    options = profile.csv
    return reader.read_csv(data, options.delimiter, options.encoding, options.skip_rows)


def _read_xlsx(data: bytes, profile: Profile) -> pl.DataFrame:
    import fastexcel

    try:
        sheets = fastexcel.read_excel(data).sheet_names
    except Exception as exc:  # fastexcel raises its own types for a file that is no workbook
        raise reader.FileRejected("unreadable", f"not an Excel workbook ({reader.first_line(exc)})") from None
    sheet = profile.sheet
    if isinstance(sheet, str) and sheet not in sheets:
        raise ProfileError(
            profile.source, "sheet", f"the workbook has no sheet {sheet!r} (it has: {', '.join(sheets)})"
        )
    if isinstance(sheet, int) and sheet > len(sheets):
        raise ProfileError(profile.source, "sheet", f"the workbook has {len(sheets)} sheet(s), not {sheet}")
    where = {"sheet_name": sheet} if isinstance(sheet, str) else {"sheet_id": sheet or 1}
    try:
        frame = pl.read_excel(io.BytesIO(data), engine="calamine", **where)
    except Exception as exc:  # noqa: BLE001 - a sheet calamine cannot read is a file that cannot be read
        raise reader.FileRejected("unreadable", f"cannot read the sheet ({reader.first_line(exc)})") from None
    return _as_text(frame)


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Typed source columns (Parquet, Excel) as text that the contract's casts read back to the same value."""
    columns = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_float():
            # Excel stores every number as a float and pandas an int column with a gap as floats: a whole number
            # is written as one (3, not 3.0), so that it is an int where the contract wants one. NaN is a gap.
            text = col.cast(pl.String)
            col = pl.when(col.is_nan()).then(None).when(col == col.round()).then(text.str.replace(r"\.0$", ""))
            col = col.otherwise(text)
        elif isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            col = col.dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
        elif isinstance(dtype, pl.Struct):
            col = col.struct.json_encode()
        try:
            columns.append(frame.select(col.cast(pl.String).alias(name)).to_series())
        except pl.exceptions.PolarsError:
            raise reader.FileRejected(
                "unreadable", f"column {name!r} has type {dtype}, which has no text form"
            ) from None
    return pl.DataFrame(columns, schema=dict.fromkeys(frame.columns, pl.String))


def apply_profile(source: pl.DataFrame, profile: Profile, feed: Feed, from_text: bool = True) -> pl.DataFrame:
    """The feed's columns as text + `_row_number` + `_extra` (the source row as sent, JSON).

    `from_text`: the source values are text as a CSV holds them, so the profile's decimal and thousands marks
    apply (a Parquet or Excel number is already a number). ProfileError for a source column the file lacks,
    a required column neither mapped nor in the file, or SQL DuckDB cannot run on the file.
    """
    names = [c for c in source.columns if c != "_row_number"]
    by_name = _columns_by_name(names, feed)
    required = {c.name for c in feed.columns if not c.nullable}
    unmapped = [c for c in feed.column_names if c not in profile.columns and c not in profile.defaults]
    lacking = [c for c in unmapped if c in required and c not in by_name]
    if lacking:
        raise ProfileError(
            profile.source,
            "columns",
            f"required column(s) {', '.join(lacking)} are not mapped and the file has no column of that name "
            "(map them in columns: or give them in defaults:)",
        )
    sql = {c: m.sql for c, m in profile.columns.items() if isinstance(m, Sql)}
    if sql:
        source = source.with_columns(_run_sql(source, sql, profile))
    numbers = {c.name for c in feed.columns if c.dtype in ("int", "dec")}
    dates = {c.name for c in feed.columns if c.dtype == "date"}
    exprs = []
    for column in feed.column_names:
        mapping = profile.columns.get(column)
        if isinstance(mapping, Source):
            sent = _find(mapping.column, names)
            if sent is None:
                raise ProfileError(
                    profile.source,
                    f"columns.{column}",
                    f"the file has no column {mapping.column!r} (it has: {', '.join(names)})",
                )
            expr = pl.col(sent)
        elif isinstance(mapping, Constant):
            expr = pl.lit(mapping.value, pl.String)
        elif isinstance(mapping, Sql):
            expr = pl.col(_computed(column))
        elif column in by_name:
            expr = pl.col(by_name[column])
            if column in profile.defaults:
                expr = pl.coalesce(expr, pl.lit(profile.defaults[column]))
        elif column in profile.defaults:
            expr = pl.lit(profile.defaults[column], pl.String)
        else:
            expr = pl.lit(None, pl.String)
        sent_as_is = isinstance(mapping, Source) or (mapping is None and column in by_name)
        if sent_as_is and column in numbers and from_text:
            expr = _normalise_number(expr, profile.csv.decimal, profile.csv.thousands)
        if sent_as_is and column in dates and not from_text:
            # A typed date arrives as a midnight timestamp (Excel and pandas have no date type): it is that date.
            expr = expr.str.replace(r"^(\d{4}-\d{2}-\d{2})T00:00:00(\.0+)?\+00:00$", "$1")
        if column in profile.values:
            codes = profile.values[column]
            new = pl.Series(list(codes.values()), dtype=pl.String)
            expr = expr.replace_strict(list(codes), new, default=expr, return_dtype=pl.String)
        exprs.append(expr.cast(pl.String).alias(column))
    extra = pl.struct(names).struct.json_encode() if names else pl.lit(None, pl.String)
    return source.select(*exprs, pl.col("_row_number").cast(pl.Int64), extra.alias("_extra"))


def unmapped_optional(source_columns: list[str], profile: Profile, feed: Feed) -> list[str]:
    """Optional contract columns the profile does not map and the file does not have by name (null)."""
    by_name = _columns_by_name([c for c in source_columns if c != "_row_number"], feed)
    return [
        c.name
        for c in feed.columns
        if c.nullable and c.name not in profile.columns and c.name not in profile.defaults and c.name not in by_name
    ]


def _columns_by_name(names: list[str], feed: Feed) -> dict[str, str]:
    """Contract column -> source column of the same name (as the reader matches names without a profile)."""
    contract = {reader.normal_name(c): c for c in feed.column_names}
    return {contract[reader.normal_name(n)]: n for n in names if reader.normal_name(n) in contract}


def _find(wanted: str, names: list[str]) -> str | None:
    """The source column a profile names: exactly, else the one that matches it but for blanks and case."""
    if wanted in names:
        return wanted
    for same in (lambda n: n.strip() == wanted.strip(), lambda n: reader.normal_name(n) == reader.normal_name(wanted)):
        found = [n for n in names if same(n)]
        if len(found) == 1:
            return found[0]
    return None


def _normalise_number(expr: pl.Expr, decimal: str, thousands: str | None) -> pl.Expr:
    """`1.234,5` as `1234.5` for a profile with decimal `,` and thousands `.`. Only a value written in that form
    is rewritten (digit groups of three); any other text is kept as sent, so that the contract's type rule
    refuses it (`12.5.0`) rather than reading it as some other number. A value in the contract's own
    notation that is not in that form (`1.5`, with `.` as thousands mark) stays as sent too, and reads as 1.5."""
    if decimal == "." and thousands is None:
        return expr
    d = re.escape(decimal)
    if thousands is None:
        pattern = rf"^\s*([+-]?\d*){d}(\d+)\s*$"
        return pl.when(expr.str.contains(pattern)).then(expr.str.replace(pattern, "$1.$2")).otherwise(expr)
    # A blank as thousands mark also stands for the no-break spaces spreadsheets write.
    t = r"[\s\u00a0\u202f]" if thousands.isspace() else re.escape(thousands)
    form = rf"^\s*[+-]?(\d+|\d{{1,3}}({t}\d{{3}})+)({d}\d+)?\s*$"
    plain = expr.str.replace_all(t, "").str.strip_chars()
    if decimal != ".":
        plain = plain.str.replace(d, ".", literal=False)
    return pl.when(expr.str.contains(form)).then(plain).otherwise(expr)


def _computed(column: str) -> str:
    return f"__sql_{column}"


def _run_sql(source: pl.DataFrame, sql: dict[str, str], profile: Profile) -> list[pl.Series]:
    """The profile's SQL expressions over the source rows, each as text, in row order: one query for all of them,
    and, when it fails, one per expression to name the column whose SQL fails."""
    con = duckdb.connect()
    try:
        con.register("_source", source.to_arrow())

        def run(columns: list[str]) -> pl.DataFrame:
            select = ", ".join(f'({sql[c]})::varchar as "{_computed(c)}"' for c in columns)
            return con.sql(f"select {select} from _source order by _row_number").pl()

        try:
            return run(list(sql)).get_columns()
        except duckdb.Error:
            pass
        for column in sql:
            try:
                run([column])
            except duckdb.Error as exc:
                text = reader.first_line(exc)
                hint = "" if "Binder" in type(exc).__name__ else " (try_cast and try_strptime make a bad value null)"
                why = f"SQL fails on the file: {text}{hint}"
                raise ProfileError(profile.source, f"columns.{column}", why) from None
        raise ProfileError(profile.source, "columns", "the SQL expressions fail together on the file")
    finally:
        con.close()
