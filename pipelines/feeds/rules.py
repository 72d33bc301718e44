"""Evaluate the feed contract on a polars frame: cast text to the contract's types, and say per row
which rules it breaks.

Input is a frame of the feed's columns as text (how every file is read, so CSV and Parquet share one
path), plus `_source_file` and `_row_number`. The output keeps the text columns untouched (they are
what a quarantined row stores) and adds the typed columns and the list of broken rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from pipelines.feeds.contract import DECIMAL_PRECISION, DECIMAL_SCALE, FUTURE_TOLERANCE_DAYS, Feed, Rule

BROKEN = "_broken_rules"
TYPED_PREFIX = "__typed_"
CLEAN_PREFIX = "__clean_"
DUPLICATE = "__duplicate"
IS_BAD = "__is_bad"

POLARS_TYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "dec": pl.Decimal(DECIMAL_PRECISION, DECIMAL_SCALE),
    "date": pl.Date(),
    "ts": pl.Datetime("us"),
}


def typed(name: str) -> str:
    return f"{TYPED_PREFIX}{name}"


def cleaned(name: str) -> str:
    return f"{CLEAN_PREFIX}{name}"


def _parse_ts(text: pl.Expr) -> pl.Expr:
    """ISO-8601 with or without an offset; no offset means UTC. Result: naive UTC."""
    norm = text.str.replace(" ", "T", literal=True).str.replace(r"Z$", "+00:00")
    with_offset = norm.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_unit="us", time_zone="UTC"
    ).dt.replace_time_zone(None)
    naive = norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")
    return pl.coalesce(with_offset, naive)


def clean(name: str) -> pl.Expr:
    """Surrounding blanks are a formatting accident, not data; an all-blank field is a missing value."""
    stripped = pl.col(name).str.strip_chars()
    return pl.when(stripped.str.len_bytes() > 0).then(stripped)


def cast_expr(text: pl.Expr, dtype: str) -> pl.Expr:
    """Text -> contract type; a value that does not parse becomes null (and breaks `type:`)."""
    if dtype == "str":
        return text
    if dtype == "int":
        return text.cast(pl.Int64, strict=False)
    if dtype == "dec":
        # Decimal casting accepts exponents and rounds silently past the scale; both are accepted
        # here on purpose (spreadsheets write 1E3 and long fractions).
        return text.cast(POLARS_TYPES["dec"], strict=False)
    if dtype == "date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    if dtype == "ts":
        return _parse_ts(text)
    raise ValueError(f"unknown contract type {dtype!r}")


def _violation(rule: Rule, feed: Feed, now: datetime) -> pl.Expr:
    """True where the row breaks the rule; null-safe (a null never breaks a value rule)."""
    col = pl.col(typed(rule.column)) if rule.kind != "unique_key" else None
    if rule.kind == "between":
        out = pl.lit(False)
        if rule.min is not None:
            out = (col <= rule.min) if rule.strict_min else (col < rule.min)
        if rule.max is not None:
            out = out | (col > rule.max)
    elif rule.kind == "in_set":
        out = ~col.is_in(list(rule.values))
    elif rule.kind == "pattern":
        out = ~col.str.contains(rule.regex)
    elif rule.kind == "pair_ge":
        a, b = col, pl.col(typed(rule.other))
        if rule.as_date:
            a, b = a.cast(pl.Date), b.cast(pl.Date)
        out = a < b
    elif rule.kind == "null_when":
        out = col.is_not_null() & (pl.col(typed(rule.when_column)) == rule.when_value)
    elif rule.kind == "not_future":
        limit = now + timedelta(days=FUTURE_TOLERANCE_DAYS)
        is_date = feed.column(rule.column).dtype == "date"
        out = col > (pl.lit(limit.date()) if is_date else pl.lit(limit))
    elif rule.kind == "unique_key":
        # Computed on the whole batch by `evaluate` (a window cannot be judged on a subset of rows).
        out = pl.col(DUPLICATE)
    else:
        raise ValueError(f"unknown rule kind {rule.kind!r}")
    return out.fill_null(False)


def _describe(rule: Rule) -> pl.Expr:
    """The reason text for one broken rule, with the offending value."""
    if rule.kind == "unique_key":
        return pl.lit(f"{rule.name}: {rule.description} (repeats an earlier row)")
    shown = pl.col(rule.column).fill_null("<null>")
    if rule.kind in ("pair_ge",):
        shown = pl.format("{} vs {}", shown, pl.col(rule.other).fill_null("<null>"))
    return pl.format(f"{rule.name}: {rule.description} (got {{}})", shown)


def _checks(feed: Feed, now: datetime) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(rule name, violation, reason text) for every rule, over a frame `evaluate` prepared."""
    checks: list[tuple[str, pl.Expr, pl.Expr]] = []
    for c in feed.columns:
        present = pl.col(cleaned(c.name)).is_not_null()
        if not c.nullable:
            checks.append((f"not_null:{c.name}", ~present, pl.lit(f"not_null:{c.name}: {c.name} is required")))
        checks.append(
            (
                f"type:{c.name}",
                present & pl.col(typed(c.name)).is_null(),
                pl.format(f"type:{c.name}: {c.name} must be {c.dtype} (got {{}})", pl.col(c.name)),
            )
        )
    for rule in feed.all_rules():
        checks.append((rule.name, _violation(rule, feed, now), _describe(rule)))
    return checks


def evaluate(frame: pl.DataFrame, feed: Feed, now: datetime) -> pl.DataFrame:
    """Add each column cleaned and typed, and a flag for rows that break any rule. Which rules, and
    why, is worked out by `split` for the flagged rows only: most rows are good, and building reason
    text for every row would cost more than the rest of the evaluation."""
    (unique,) = [r for r in feed.all_rules() if r.kind == "unique_key"]
    # The key's values, not its spelling: `2024-01-01T10:00:00Z` and `...+00:00`, or `1` and `01`, are one
    # key (compared as text, two spellings of one version both loaded and the later row silently won).
    # A value that does not parse is compared as its text.
    key: list[str | pl.Expr] = []
    for c in unique.column.split(","):
        if feed.column(c).dtype == "str":
            key.append(cleaned(c))
        else:
            key += [typed(c), pl.when(pl.col(typed(c)).is_null()).then(pl.col(cleaned(c)))]
    prepared = (
        frame.with_columns(clean(c.name).alias(cleaned(c.name)) for c in feed.columns)
        .with_columns(cast_expr(pl.col(cleaned(c.name)), c.dtype).alias(typed(c.name)) for c in feed.columns)
        .with_columns(
            # Versioned feeds may resend a key in one file only with a different version.
            (pl.int_range(pl.len()).over(["_source_file", *key]) > 0).alias(DUPLICATE),
        )
    )
    bad = pl.any_horizontal([violation for _, violation, _ in _checks(feed, now)])
    return prepared.with_columns(bad.alias(IS_BAD))


def _broken_names(checks: list[tuple[str, pl.Expr, pl.Expr]]) -> pl.Expr:
    return pl.concat_list([pl.when(v).then(pl.lit(name)) for name, v, _ in checks]).list.drop_nulls()


def broken_rules(frame: pl.DataFrame, feed: Feed, now: datetime) -> pl.Series:
    """The names of the rules each row breaks (an empty list for a good row)."""
    return evaluate(frame, feed, now).select(_broken_names(_checks(feed, now)).alias(BROKEN)).to_series()


def split(evaluated: pl.DataFrame, feed: Feed, now: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows with contract types, bad rows with their text values, rules broken and reasons)."""
    meta = ["_source_file", "_row_number", "_extra"]
    good = evaluated.filter(~pl.col(IS_BAD)).select(*[pl.col(typed(c.name)).alias(c.name) for c in feed.columns], *meta)
    checks = _checks(feed, now)
    names = _broken_names(checks)
    reasons = pl.concat_list([pl.when(v).then(text) for _, v, text in checks]).list.drop_nulls()
    bad = (
        evaluated.filter(pl.col(IS_BAD))
        .with_columns(names.alias(BROKEN))
        .select(
            *feed.column_names,
            *meta,
            pl.col(BROKEN).list.first().alias("_rule"),
            pl.col(BROKEN).alias("_rules"),
            reasons.list.join("; ").alias("_reason"),
        )
    )
    return good, bad
