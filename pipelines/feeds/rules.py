"""Evaluate the feed contract on a polars frame: cast text to the contract's types, and say per row
which rules it breaks.

Input is a frame of the feed's columns as text (how every file is read, so CSV and Parquet share one
path), plus `_source_file` and `_row_number`. The output keeps the text columns untouched (they are
what a quarantined row stores) and adds the typed columns and the list of broken rules.

Cross-feed rules (`at_most_referenced`) compare a row with rows loaded before: the caller passes them as
`referenced`, by feed name, typed, one current version per key (pipelines/feeds/references.py looks them
up in the warehouse). Under the batch's own feed's name come its loaded rows that refer to the same rows,
for the rules that add a row up with them, or (`acyclic`) the edges of its loaded rows. Without
`referenced`, the `at_most_referenced` rules pass (nothing is known) and `acyclic` judges the batch alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import polars as pl

from pipelines.feeds.contract import (
    DECIMAL_PRECISION,
    DECIMAL_SCALE,
    FEEDS,
    FUTURE_TOLERANCE_DAYS,
    MIN_DATE,
    Feed,
    Rule,
    When,
)
from pipelines.feeds.cycles import cycles_through

BROKEN = "_broken_rules"
TYPED_PREFIX = "__typed_"
CLEAN_PREFIX = "__clean_"
DUPLICATE = "__duplicate"
IS_BAD = "__is_bad"
LOCAL_BAD = "__local_bad"
# Rules that judge a row with other rows (loaded ones, or the batch's), after the rules of its own.
CROSS_FEED = ("at_most_referenced", "acyclic")

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


def selects(when: When, column: pl.Expr) -> pl.Expr:
    """True on the rows `when` selects, `column` being its column's typed values."""
    if when.positive is not None:
        above = (column > 0).fill_null(False)
        return above if when.positive else ~above
    return column.is_null() if not when.values else column.is_in(list(when.values))


def _applies(rule: Rule) -> pl.Expr:
    """True on the rows a conditional rule applies to (every row for an unconditional one)."""
    if rule.when is None:
        return pl.lit(True)
    return selects(rule.when, pl.col(typed(rule.when.column)))


def _limit(rule: Rule) -> str:
    return f"__limit_{rule.name}"


def _referenced(rule: Rule) -> str:
    return f"__referenced_{rule.name}"


def _others(rule: Rule) -> str:
    return f"__others_{rule.name}"


def _cycle(rule: Rule) -> str:
    return f"__cycle_{rule.name}"


def _exceeds(rule: Rule) -> pl.Expr:
    """An `at_most_referenced` rule's comparison; its limit and the other rows' share are joined in by
    `evaluate` (a null limit: the referenced row is unknown, and the row passes)."""
    total = pl.col(typed(rule.column)) + pl.col(_others(rule)) if rule.summed else pl.col(typed(rule.column))
    return total > pl.col(_limit(rule))


def _violation(rule: Rule, feed: Feed, now: datetime) -> pl.Expr:
    """True where the row breaks the rule; null-safe (a null never breaks a value rule)."""
    col = pl.col(typed(rule.column)) if rule.kind != "unique_key" else None
    if rule.kind == "between":
        out = pl.lit(False)
        if rule.min is not None:
            out = (col <= rule.min) if rule.strict_min else (col < rule.min)
        if rule.max is not None:
            out = out | ((col >= rule.max) if rule.strict_max else (col > rule.max))
    elif rule.kind == "in_set":
        out = ~col.is_in(list(rule.values))
    elif rule.kind == "pattern":
        out = ~col.str.contains(rule.regex)
    elif rule.kind == "pair_ge":
        a, b = col, pl.col(typed(rule.other))
        if rule.as_date:
            a, b = a.cast(pl.Date), b.cast(pl.Date)
        out = a < b
    elif rule.kind == "pair_ne":
        out = col == pl.col(typed(rule.other))
    elif rule.kind == "null_when":
        out = col.is_not_null()
    elif rule.kind == "required_when":
        # Blank, not unparseable: a value that does not parse breaks `type:` instead.
        out = pl.col(cleaned(rule.column)).is_null()
    elif rule.kind == "not_future":
        limit = now + timedelta(days=FUTURE_TOLERANCE_DAYS)
        is_date = feed.column(rule.column).dtype == "date"
        out = col > (pl.lit(limit.date()) if is_date else pl.lit(limit))
    elif rule.kind == "min_date":
        is_date = feed.column(rule.column).dtype == "date"
        out = col < (pl.lit(MIN_DATE) if is_date else pl.lit(datetime.combine(MIN_DATE, datetime.min.time())))
    elif rule.kind == "unique_key":
        # Computed on the whole batch by `evaluate` (a window cannot be judged on a subset of rows).
        out = pl.col(DUPLICATE)
    elif rule.kind == "at_most_referenced":
        out = _exceeds(rule)
    elif rule.kind == "acyclic":
        out = pl.col(_cycle(rule)).is_not_null()
    else:
        raise ValueError(f"unknown rule kind {rule.kind!r}")
    return (out & _applies(rule)).fill_null(False)


def _describe(rule: Rule) -> pl.Expr:
    """The reason text for one broken rule, with the offending value."""
    if rule.kind == "unique_key":
        return pl.lit(f"{rule.name}: {rule.description} (repeats an earlier row)")
    shown = pl.col(rule.column).fill_null("<null>")
    if rule.kind in ("pair_ge", "pair_ne"):
        shown = pl.format("{} vs {}", shown, pl.col(rule.other).fill_null("<null>"))
    elif rule.kind == "acyclic":
        shown = pl.col(_cycle(rule))
    elif rule.kind == "at_most_referenced":
        ref = pl.col(_referenced(rule)).cast(pl.String)
        if FEEDS[rule.references.feed].column(rule.other).dtype == "dec":
            ref = ref.str.replace(r"0+$", "").str.replace(r"\.$", "")  # 9.9900 -> 9.99, 5.0000 -> 5
        ref = ref.fill_null("none")
        if rule.summed:
            shown = pl.format(f"{{}} + {{}} on other rows vs {rule.other} {{}}", shown, pl.col(_others(rule)), ref)
        else:
            shown = pl.format(f"{{}} vs {rule.other} {{}}", shown, ref)
        if rule.factor:
            shown = pl.format(f"{{}} x {rule.factor} {{}}", shown, pl.col(rule.factor).fill_null("<null>"))
    if rule.when is not None:
        shown = pl.format(f"{{}} with {rule.when.column} {{}}", shown, pl.col(rule.when.column).fill_null("<null>"))
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


def current_versions(frame: pl.DataFrame, feed: Feed) -> pl.DataFrame:
    """One row per key: the latest version (a null version is older than any), then the later row (rows in
    load order)."""
    if feed.version_column is None:
        return frame.unique(feed.key, keep="last", maintain_order=True)
    return (
        frame.with_row_index("__order")
        .sort([feed.version_column, "__order"], descending=True, nulls_last=True)
        .unique(feed.key, keep="first")
        .drop("__order")
    )


def _join_references(
    prepared: pl.DataFrame, feed: Feed, cross: list[Rule], referenced: Mapping[str, pl.DataFrame]
) -> pl.DataFrame:
    """Add, per cross-feed rule, the referenced value, the limit it sets, and the other rows' share."""
    out = prepared.with_row_index("__row")
    for rule in cross:
        if rule.kind == "acyclic":
            out = out.with_columns(_cycles(out, rule, referenced.get(feed.name)))
            continue
        target = FEEDS[rule.references.feed]
        mine = [typed(c) for c in rule.references.columns]
        found = referenced.get(target.name)
        if found is None:
            found = pl.DataFrame(schema={k: POLARS_TYPES[target.column(k).dtype] for k in (*target.key, rule.other)})
        value = pl.col(rule.other)
        ref = found.select(
            *[pl.col(k).alias(m) for k, m in zip(target.key, mine, strict=True)],
            value.alias(_referenced(rule)),
            pl.lit(True).alias("__found"),
        )
        out = out.join(ref.unique(mine, keep="first"), on=mine, how="left").sort("__row")
        # A referenced row without the value (a line not shipped yet) allows nothing.
        base = pl.col(_referenced(rule)).fill_null(0)
        limit = base * pl.col(typed(rule.factor)) if rule.factor else base
        if rule.tolerance:
            limit = limit + pl.lit(Decimal(str(rule.tolerance)))
        out = out.with_columns(pl.when(pl.col("__found")).then(limit).alias(_limit(rule))).drop("__found")
        if rule.summed:
            # Rows of this batch count with the others only when they fit beside the loaded rows on their own:
            # one absurd return must not hold back a sensible one of the same line.
            loaded = referenced.get(feed.name)
            out = out.with_columns(_others_share(out, feed, rule, loaded, pl.lit(False)))
            fits = ~pl.col(LOCAL_BAD) & ~(_exceeds(rule) & _applies(rule)).fill_null(False)
            out = out.with_columns(_others_share(out, feed, rule, loaded, fits))
    return out.drop("__row")


def _cycles(batch: pl.DataFrame, rule: Rule, loaded: pl.DataFrame | None) -> pl.Series:
    """Per row, the cycle its edge (`other` -> `column`) lies on among the loaded edges and the batch's rows
    that meet their own rules (null when none): every new edge of the batch on a cycle is held back, since
    which of them is wrong cannot be told. A new version of an edge already loaded is not: holding it back
    would leave the edge, so the cycle is the new edges' doing."""
    parent, child = rule.other, rule.column
    mine = batch.select(pl.col(typed(parent)).alias(parent), pl.col(typed(child)).alias(child), LOCAL_BAD)
    edges = [mine.filter(~pl.col(LOCAL_BAD)).select(parent, child)]
    if loaded is not None:
        edges.append(loaded.select(parent, child))
    graph = pl.concat(edges, how="vertical_relaxed")
    cycles = cycles_through(mine, graph, parent, child).alias(_cycle(rule))
    if loaded is None or loaded.height == 0:
        return cycles
    known = loaded.select(parent, child).unique().with_columns(pl.lit(True).alias("__known"))
    seen = mine.with_row_index("__i").join(known, on=[parent, child], how="left").sort("__i")["__known"]
    return pl.select(pl.when(seen.is_null()).then(cycles)).to_series().alias(_cycle(rule))


def _others_share(
    batch: pl.DataFrame, feed: Feed, rule: Rule, loaded: pl.DataFrame | None, counted: pl.Expr
) -> pl.Series:
    """Per row, the column summed over the other keys that refer to the same row: their current versions
    among the loaded rows and the `counted` rows of this batch (which loads after them)."""
    refs, key = list(rule.references.columns), list(feed.key)
    columns = list(dict.fromkeys([*key, *refs, rule.column] + ([feed.version_column] if feed.version_column else [])))
    mine = batch.filter(counted).select([pl.col(typed(c)).alias(c) for c in columns])
    earlier = loaded.select(columns) if loaded is not None else mine.clear()
    current = current_versions(pl.concat([earlier, mine], how="vertical_relaxed"), feed)
    totals = current.group_by(refs).agg(pl.col(rule.column).sum().alias("__total"))
    own = current.select(*key, *[pl.col(c).alias(f"__own_{c}") for c in [*refs, rule.column]])
    rows = batch.select("__row", *[pl.col(typed(c)).alias(c) for c in dict.fromkeys([*key, *refs])])
    joined = (
        rows.join(totals, on=refs, how="left")
        .join(own, on=key, how="left")
        .sort("__row")
        .with_columns(
            # This key's own current version is not one of the "others"; the row itself is counted by the rule.
            same=pl.all_horizontal([pl.col(c).eq_missing(pl.col(f"__own_{c}")) for c in refs]),
        )
    )
    others = pl.col("__total").fill_null(0) - pl.when("same").then(pl.col(f"__own_{rule.column}")).otherwise(0)
    return joined.select(others.fill_null(pl.col("__total").fill_null(0)).alias(_others(rule))).to_series()


def evaluate(
    frame: pl.DataFrame, feed: Feed, now: datetime, referenced: Mapping[str, pl.DataFrame] | None = None
) -> pl.DataFrame:
    """Add each column cleaned and typed, and a flag for rows that break any rule. Which rules, and
    why, is worked out by `split` for the flagged rows only: most rows are good, and building reason
    text for every row would cost more than the rest of the evaluation. `referenced`: see the module."""
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
    cross = {r.name for r in feed.all_rules() if r.kind in CROSS_FEED}
    checks = _checks(feed, now)
    local = pl.any_horizontal([violation for name, violation, _ in checks if name not in cross])
    prepared = prepared.with_columns(local.alias(LOCAL_BAD))
    if not cross:
        return prepared.with_columns(pl.col(LOCAL_BAD).alias(IS_BAD))
    # A row that breaks a rule of its own is not counted with the others of its reference (it will not load).
    prepared = _join_references(prepared, feed, [r for r in feed.all_rules() if r.name in cross], referenced or {})
    bad = pl.col(LOCAL_BAD) | pl.any_horizontal([violation for name, violation, _ in checks if name in cross])
    return prepared.with_columns(bad.alias(IS_BAD))


def _broken_names(checks: list[tuple[str, pl.Expr, pl.Expr]]) -> pl.Expr:
    return pl.concat_list([pl.when(v).then(pl.lit(name)) for name, v, _ in checks]).list.drop_nulls()


def broken_rules(
    frame: pl.DataFrame, feed: Feed, now: datetime, referenced: Mapping[str, pl.DataFrame] | None = None
) -> pl.Series:
    """The names of the rules each row breaks (an empty list for a good row)."""
    evaluated = evaluate(frame, feed, now, referenced)
    return evaluated.select(_broken_names(_checks(feed, now)).alias(BROKEN)).to_series()


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
