"""Deliberately bad input, and a manifest saying what the loader must do with each piece.

Row faults are derived from the contract, not listed: every rule of every feed gets a row that breaks
it, built from the rule's kind, plus a blank in each required column and an unparseable value in each
typed column. A new rule in the contract therefore gets its fault with no change here. Each bad row
starts from a real row (so its skus and warehouses exist) and is checked with the project's rule
evaluation (`pipelines/feeds/rules.py`) to break its rule and nothing else; where the contract makes
that impossible (a rule implied by two others), the manifest lists the other rules it breaks under
`also_breaks`. A cycle takes two rows (two parts made each other's component), both listed under the
rule. Whole-file rejects follow FILE_REJECT_REASONS, one per reason, spread over feeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.feeds import rules
from pipelines.feeds.contract import DECIMAL_SCALE, FEEDS, FILE_REJECT_REASONS, MIN_DATE, Feed, Rule

from .config import Stream, rng
from .writer import TS_FORMAT, Format, as_text, csv_bytes, file_name

# Far enough ahead to stay in the future whenever the files are loaded, and fixed so that the same
# arguments give the same bytes on any day.
FUTURE = date(2099, 1, 1)
# A system's default date, before the contract's MIN_DATE.
ANCIENT = min(date(1970, 1, 1), MIN_DATE.replace(year=MIN_DATE.year - 1))
GARBAGE = {"int": "abc", "dec": "abc", "date": "2024-13-45", "ts": "2024-13-45T25:61:00Z"}
PLAIN = {"str": "x", "int": "0", "dec": "0", "date": "2024-01-01", "ts": "2024-01-01T00:00:00Z"}
GOOD_ROWS, POOL_ROWS = 6, 240
# Which feed carries each whole-file reject (spread over feeds), and what the file is.
REJECT_FEEDS = {"unreadable": "orders", "encoding": "products", "empty": "returns", "missing_columns": "inventory"}


@dataclass(frozen=True)
class _Fault:
    rule: str
    variants: list[pl.DataFrame]  # text frames; any row that breaks only `rule` will do
    touches: tuple[str, ...]  # columns the fault changes


def _parse(feed: Feed, text: pl.DataFrame) -> pl.DataFrame:
    """Text to the contract's types, exactly as the loader casts (unparseable -> null)."""
    return text.select([rules.cast_expr(rules.clean(c.name), c.dtype).alias(c.name) for c in feed.columns])


def _broken(feed: Feed, text: pl.DataFrame, one_file: bool, referenced: dict[str, pl.DataFrame]) -> pl.Series:
    """The rules each row breaks, as the loader evaluates them (`referenced`: the rows loaded before, for
    cross-feed rules). Candidates are judged each on its own (their own file), so that only the final
    layout decides duplicate keys."""
    source = pl.lit("fault-file") if one_file else pl.int_range(pl.len()).cast(pl.String)
    frame = text.select(feed.column_names).with_columns(_source_file=source)
    now = datetime.now(UTC).replace(tzinfo=None)  # the loader works in naive UTC
    return rules.broken_rules(frame, feed, now, referenced)


def _as_loaded(table: pl.DataFrame) -> pl.DataFrame:
    """A generated table's values as the loader stores them: timestamps in naive UTC."""
    return table.with_columns(
        pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        for c, t in table.schema.items()
        if isinstance(t, pl.Datetime) and t.time_zone is not None
    )


def referenced_view(feed: Feed, table: pl.DataFrame) -> pl.DataFrame | None:
    """What other feeds' cross-feed rules read of this feed once all of `table` is loaded: the current
    version of every key, only the columns they read (None when no rule refers to the feed)."""
    read = [r.other for f in FEEDS.values() for r in f.all_rules() if r.references and r.references.feed == feed.name]
    if not read:
        return None
    columns = list(dict.fromkeys([*feed.key, *read, *([feed.version_column] if feed.version_column else [])]))
    return rules.current_versions(_as_loaded(table.select(columns)), feed)


def _with_own_rows(feed: Feed, table: pl.DataFrame, referenced: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """`referenced` plus, for a feed whose rules add a row up with its other rows or walk them as a graph, the
    feed's own loaded rows."""
    if not any(r.summed or r.kind == "acyclic" for r in feed.all_rules()):
        return referenced
    return {**referenced, feed.name: rules.current_versions(_as_loaded(table.select(feed.column_names)), feed)}


def _text(feed: Feed, name: str, typed: pl.Expr) -> pl.Expr:
    dtype = feed.column(name).dtype
    if dtype == "ts":
        return typed.dt.strftime(TS_FORMAT[feed.name])
    return typed.cast(pl.String)


def _number(value: float, dtype: str) -> str:
    return str(int(value)) if dtype == "int" else f"{value:.{DECIMAL_SCALE}f}"


def _shift_days(feed: Feed, name: str, days: pl.Expr) -> pl.Expr:
    return _text(feed, name, pl.col(f"_t_{name}") + pl.duration(days=days))


def _date_of(feed: Feed, name: str) -> pl.Expr:
    c = pl.col(f"_t_{name}")
    return c.dt.date() if feed.column(name).dtype == "ts" else c


def _pair_variants(feed: Feed, r: Rule, text: pl.DataFrame) -> list[pl.DataFrame]:
    """column < other: lower the column or raise the other on rows that have both; failing those
    (a world too young to have, say, a received PO), fill the missing values in."""
    a, b = r.column, r.other
    kind = feed.column(a).dtype
    has_a, has_b = pl.col(f"_t_{a}").is_not_null(), pl.col(f"_t_{b}").is_not_null()
    if kind == "ts" and not r.as_date:
        lower = _text(feed, a, pl.col(f"_t_{b}") - pl.duration(hours=1))
        raise_ = _text(feed, b, pl.col(f"_t_{a}") + pl.duration(hours=1))
    elif kind in ("date", "ts"):  # compared as dates
        gap = (_date_of(feed, b) - _date_of(feed, a)).dt.total_days()
        day_before = _date_of(feed, b) - pl.duration(days=1)
        filled = day_before if kind == "date" else day_before.cast(pl.Datetime("us"))
        lower = pl.when(has_a).then(_shift_days(feed, a, gap - 1)).otherwise(_text(feed, a, filled))
        raise_ = _shift_days(feed, b, -gap + 1)
    else:
        step = 1 if kind == "int" else 0.01
        lower = _text(feed, a, pl.col(f"_t_{b}") - step)
        raise_ = _text(feed, b, pl.col(f"_t_{a}") + step)
    both = text.filter(has_a & has_b)
    variants = [
        both.with_columns(lower.alias(a)),
        both.with_columns(raise_.alias(b)),
        text.filter(~has_a & has_b).with_columns(lower.alias(a)),
    ]
    if kind in ("int", "dec"):  # neither set yet: zero against one step
        zero, one = _number(0, kind), _number(1 if kind == "int" else 0.01, kind)
        neither = text.filter(~has_a & ~has_b)
        variants.append(neither.with_columns(pl.lit(zero).alias(a), pl.lit(one).alias(b)))
    return variants


def _future_variant(feed: Feed, r: Rule, text: pl.DataFrame) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The column moved to FUTURE, dragging the columns that must stay >= it (so no pair rule breaks)."""
    dragged = {r.column}
    pairs = [x for x in feed.all_rules() if x.kind == "pair_ge"]
    while True:
        more = {x.column for x in pairs if x.other in dragged} - dragged
        if not more:
            break
        dragged |= more
    days = (pl.lit(FUTURE) - _date_of(feed, r.column)).dt.total_days()
    cols = tuple(sorted(dragged))
    return text.with_columns(
        [_shift_days(feed, c, days).alias(c) for c in cols if feed.column(c).dtype in ("date", "ts")]
    ), cols


def _where(r: Rule) -> pl.Expr:
    """The pool rows a conditional rule applies to."""
    return rules.selects(r.when, pl.col(f"_t_{r.when.column}"))


def _forced(r: Rule) -> str | None:
    """A value of the condition's column that makes the rule apply."""
    if r.when.positive is not None:
        return "1" if r.when.positive else "0"
    return r.when.values[0] if r.when.values else None


def _conditional(r: Rule, text: pl.DataFrame, change: list[pl.Expr]) -> list[pl.DataFrame]:
    """The change on rows the rule applies to; and on any row, made to apply (its condition set)."""
    if r.when is None:
        return [text.with_columns(change)]
    force = pl.lit(_forced(r), pl.String).alias(r.when.column)
    return [text.filter(_where(r)).with_columns(change), text.with_columns(force, *change)]


def _touched(r: Rule, *columns: str) -> tuple[str, ...]:
    return (*columns, r.when.column) if r.when else columns


def _referenced_variant(feed: Feed, r: Rule, text: pl.DataFrame, referenced: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """The column one step above the limit its referenced row sets, on rows whose referenced row is known."""
    target = FEEDS[r.references.feed]
    found = referenced.get(target.name)
    if found is None:
        return text.clear()
    mine = [f"_t_{c}" for c in r.references.columns]
    ref = found.select(
        *[pl.col(k).alias(m) for k, m in zip(target.key, mine, strict=True)], pl.col(r.other).alias("_ref")
    )
    dtype = feed.column(r.column).dtype
    limit = pl.col("_ref").fill_null(0)
    if r.factor:
        limit = limit * pl.col(f"_t_{r.factor}")
    step = 1 if dtype == "int" else 0.01
    value = limit + pl.lit(Decimal(str(r.tolerance + step)) if dtype == "dec" else r.tolerance + step)
    over = value.cast(pl.Int64) if dtype == "int" else value
    return (
        text.join(ref, on=mine, how="inner", maintain_order="left")
        .with_columns(over.cast(pl.String).alias(r.column))
        .drop("_ref")
    )


def _faults(feed: Feed, text: pl.DataFrame, referenced: dict[str, pl.DataFrame]) -> list[_Fault]:
    out: list[_Fault] = []
    for r in feed.all_rules():
        col = r.column
        if r.kind == "between":
            dtype = feed.column(col).dtype
            step = 1 if dtype == "int" else 0.01
            if r.min is not None:
                low = r.min if r.strict_min else r.min - step
                low_text = _number(low, dtype)
                out.append(_Fault(r.name, _conditional(r, text, [pl.lit(low_text).alias(col)]), _touched(r, col)))
            if r.max is not None:
                high = _number(r.max if r.strict_max else r.max + step, dtype)
                out.append(_Fault(r.name, _conditional(r, text, [pl.lit(high).alias(col)]), _touched(r, col)))
        elif r.kind == "in_set":
            out.append(_Fault(r.name, [text.with_columns(pl.lit(f"not_a_{col}").alias(col))], (col,)))
        elif r.kind == "pattern":
            variants = [text.with_columns(pl.col(col).str.to_lowercase()), text.with_columns(pl.lit("?").alias(col))]
            out.append(_Fault(r.name, variants, (col,)))
        elif r.kind == "pair_ge":
            out.append(_Fault(r.name, _pair_variants(feed, r, text), (r.column, r.other)))
        elif r.kind == "pair_ne":
            out.append(_Fault(r.name, [text.with_columns(pl.col(r.other).alias(col))], (col, r.other)))
        elif r.kind == "acyclic":
            continue  # two rows that are each other's component: see `_cycle_rows`
        elif r.kind == "null_when":
            # A value the column takes elsewhere: plausible, and within any range rule (the smallest, or for
            # a time that must come after others, the largest).
            variants = []
            for pick in (pl.col(f"_t_{col}").min(), pl.col(f"_t_{col}").max()):
                value = text.select(_text(feed, col, pick)).item()
                value = value if value is not None else PLAIN[feed.column(col).dtype]
                variants += _conditional(r, text, [pl.lit(value).alias(col)])
            out.append(_Fault(r.name, variants, _touched(r, col)))
        elif r.kind == "required_when":
            out.append(_Fault(r.name, _conditional(r, text, [pl.lit(None, pl.String).alias(col)]), _touched(r, col)))
        elif r.kind == "not_future":
            variant, cols = _future_variant(feed, r, text)
            out.append(_Fault(r.name, [variant], cols))
        elif r.kind == "min_date":
            ancient = pl.lit(ANCIENT) if feed.column(col).dtype == "date" else pl.lit(ANCIENT).cast(pl.Datetime("us"))
            moved = _text(feed, col, ancient).alias(col)
            has = pl.col(f"_t_{col}").is_not_null()
            out.append(_Fault(r.name, [text.filter(has).with_columns(moved), text.with_columns(moved)], (col,)))
        elif r.kind == "at_most_referenced":
            out.append(_Fault(r.name, [_referenced_variant(feed, r, text, referenced)], (r.column,)))
        elif r.kind != "unique_key":  # unique_key is a copy of a good row, added when the file is laid out
            raise ValueError(f"no fault builder for rule kind {r.kind!r} ({feed.name}.{r.name})")
    for c in feed.columns:
        if not c.nullable:
            blank = text.with_columns(pl.lit(None, pl.String).alias(c.name))
            out.append(_Fault(f"not_null:{c.name}", [blank], (c.name,)))
        if c.dtype != "str":
            out.append(_Fault(f"type:{c.name}", [text.with_columns(pl.lit(GARBAGE[c.dtype]).alias(c.name))], (c.name,)))
    return out


def _key_text(feed: Feed, text: pl.DataFrame) -> pl.Series:
    """The row's key (with its version) as parsed values, so '' and null, or two spellings, compare equal."""
    cols = feed.key + ((feed.version_column,) if feed.version_column else ())
    typed = _parse(feed, text)
    return typed.select(
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("\u2205") for c in cols], separator="\u241f")
    ).to_series()


def row_fault_file(
    feed: Feed, table: pl.DataFrame, seed: int, referenced: dict[str, pl.DataFrame] | None = None
) -> tuple[pl.DataFrame, list[dict]]:
    """Text rows of a feed's fault file and, per bad row, {row, rule, also_breaks}. `referenced`: what the
    feeds loaded before this one hold once their files are loaded (`referenced_view`), for cross-feed rules."""
    referenced = _with_own_rows(feed, table, referenced or {})
    r = rng(seed, Stream.FAULTS, list(FEEDS).index(feed.name))
    pick = np.sort(r.choice(table.height, size=min(POOL_ROWS, table.height), replace=False))
    text = as_text(feed.name, table.select(feed.column_names)[pick])
    typed = _parse(feed, text)
    pool = text.with_columns(typed.rename(lambda c: f"_t_{c}"))
    unique_rule = next(x.name for x in feed.all_rules() if x.kind == "unique_key")
    faults = _faults(feed, pool, referenced)
    version = feed.version_column
    latest = typed[version].max() if version else None
    frames = []
    for k, f in enumerate(faults):  # one entry per rule, each vectorised over the pool
        for v in f.variants:
            if version and version not in f.touches:  # a fresh version keeps the key unique in the file
                bumped = pl.lit(latest) + pl.duration(seconds=k + 1)
                v = v.with_columns(_text(feed, version, bumped).alias(version))
            frames.append(v.select(*feed.column_names, _fault=pl.lit(k), _rule=pl.lit(f.rule)))
    cand = pl.concat(frames).with_row_index("_cand")
    cand = cand.with_columns(_broken=_broken(feed, cand, one_file=False, referenced=referenced))
    hits = (
        cand.with_columns(_hit=pl.col("_broken").list.contains(pl.col("_rule")), _extra=pl.col("_broken").list.len())
        .filter("_hit")
        .sort(["_fault", "_extra", "_cand"])
    )
    ranked = hits.with_columns(_key=_key_text(feed, hits.select(feed.column_names)))
    goods = text.head(GOOD_ROWS)
    used = set(_key_text(feed, goods).to_list())
    chosen, entries = [], []
    id_column = next(c.name for c in feed.columns if c.key and c.dtype == "str")
    for k, f in enumerate(faults):  # greedy: the best candidate whose key is not yet in the file
        rows = ranked.filter(pl.col("_fault") == k)
        keys = rows["_key"].to_list()
        at = next((i for i, key in enumerate(keys) if key not in used), None)
        if at is None and rows.height:  # a young world with few keys: the best row under a key of its own
            rows = rows.head(1).with_columns(pl.col(id_column) + f"-{k}")
            keys = _key_text(feed, rows.select(feed.column_names)).to_list()
            at = 0 if keys[0] not in used else None
        if at is None:
            raise RuntimeError(f"{feed.name}: no row of this world can be made to break only {f.rule}")
        used.add(keys[at])
        chosen.append(rows[at].select(feed.column_names))
        entries.append({"rule": f.rule, "also_breaks": [n for n in rows["_broken"][at] if n != f.rule]})
    for g in (x for x in feed.all_rules() if x.kind == "acyclic"):
        pair = _cycle_rows(feed, g, text, referenced, pl.lit(latest) + pl.duration(seconds=len(faults) + 1))
        chosen.append(pair)
        entries += [{"rule": g.name, "also_breaks": []} for _ in range(pair.height)]
    split = min(3, goods.height)
    body = pl.concat([goods.head(split), goods.head(1), *chosen, goods.slice(split)])
    entries = [{"rule": unique_rule, "also_breaks": []}, *entries]
    for i, e in enumerate(entries):
        e["row"] = split + 1 + i
    _verify(feed, body, entries, referenced)
    return body, entries


def _cycle_rows(
    feed: Feed, rule: Rule, text: pl.DataFrame, referenced: dict[str, pl.DataFrame], version: pl.Expr
) -> pl.DataFrame:
    """Two rows that make two purchased parts each other's component (a -> b -> a). Parts with no components
    of their own lie on no path of the loaded graph, so the cycle holds back these two rows and no other,
    whether the clean files load before them or in the same batch."""
    loaded = referenced[feed.name]
    leaves = sorted(set(loaded[rule.column].drop_nulls()) - set(loaded[rule.other].drop_nulls()))
    if len(leaves) < 2:
        raise RuntimeError(f"{feed.name}: no two leaves of this world's graph can be made a cycle")
    a, b = leaves[0], leaves[1]
    row = text.head(1).with_columns(_text(feed, feed.version_column, version).alias(feed.version_column))
    return pl.concat(
        [
            row.with_columns(pl.lit(a).alias(rule.other), pl.lit(b).alias(rule.column)),
            row.with_columns(pl.lit(b).alias(rule.other), pl.lit(a).alias(rule.column)),
        ]
    ).select(feed.column_names)


def _verify(feed: Feed, body: pl.DataFrame, entries: list[dict], referenced: dict[str, pl.DataFrame]) -> None:
    """Every good row breaks nothing; every bad row breaks exactly its rule (and its also_breaks)."""
    expected = {e["row"]: {e["rule"], *e["also_breaks"]} for e in entries}
    for i, broken in enumerate(_broken(feed, body, True, referenced).to_list(), start=1):  # a few dozen rows
        got = set(broken)
        if got != expected.get(i, set()):
            raise RuntimeError(f"{feed.name} fault row {i}: breaks {sorted(got)}, meant {expected.get(i)}")


def _garbage(seed: int) -> bytes:
    """Binary, not text: control bytes and NULs (valid UTF-8, so it is not an encoding problem)."""
    raw = rng(seed, Stream.FAULTS, 100).integers(0, 32, size=512, dtype=np.uint8)
    raw[::7] = 0
    return raw.tobytes()


def _reject(
    reason: str, feed: Feed, table: pl.DataFrame, last: date, fmt: Format, seed: int
) -> tuple[str, bytes | pl.DataFrame]:
    """(file name, content) of the whole-file reject for `reason`."""
    rows = table.select(feed.column_names).head(GOOD_ROWS)
    if reason == "unreadable":
        return file_name(feed.name, last, fmt, "_unreadable"), _garbage(seed)
    if reason == "encoding":
        text = as_text(feed.name, rows)
        name_col = next(c.name for c in feed.columns if c.dtype == "str" and not c.key)
        text = text.with_columns(pl.lit("Café Crème ") + pl.col(name_col))
        return file_name(feed.name, last, "csv", "_cp1252"), text.write_csv().encode("cp1252")
    if reason == "empty":
        return file_name(feed.name, last, "csv", "_empty"), b""
    if reason == "missing_columns":
        dropped = rows.drop(feed.required_columns[-1])
        content = dropped if fmt == "parquet" else bytes(csv_bytes(feed.name, dropped))
        return file_name(feed.name, last, fmt, "_missing_columns"), content
    raise ValueError(f"no fault builder for file reject reason {reason!r}")


def write_feed_faults(
    out_dir: Path,
    feed: Feed,
    table: pl.DataFrame,
    last: date,
    fmt: Format,
    seed: int,
    referenced: dict[str, pl.DataFrame] | None = None,
) -> tuple[list[dict], int, int]:
    """Write a feed's row-fault file and the whole-file rejects it carries.
    Returns (manifest entries, files written, readable rows written)."""
    entries, files, rows = [], 0, 0
    if not table.is_empty():  # a world too short to have this feed yet has nothing to spoil
        body, bad = row_fault_file(feed, table, seed, referenced)
        rel = f"{feed.name}/{file_name(feed.name, last, fmt, '_faults')}"
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            body.write_parquet(out_dir / rel)
        else:
            (out_dir / rel).write_bytes(body.write_csv().encode())
        files, rows = 1, body.height
        entries += [
            {
                "feed": feed.name,
                "file": rel,
                "row": e["row"],
                "rule": e["rule"],
                "expect": "quarantine",
                "also_breaks": e["also_breaks"],
            }
            for e in bad
        ]
    for reason in (r for r in FILE_REJECT_REASONS if REJECT_FEEDS.get(r) == feed.name):
        fname, content = _reject(reason, feed, table, last, fmt, seed)
        rel = f"{feed.name}/{fname}"
        (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, pl.DataFrame):
            content.write_parquet(out_dir / rel)
        else:
            (out_dir / rel).write_bytes(content)
        files += 1
        entries.append(
            {"feed": feed.name, "file": rel, "row": None, "rule": reason, "expect": "reject", "also_breaks": []}
        )
    return entries, files, rows


def write_manifest(out_dir: Path, entries: list[dict]) -> Path:
    missing = set(FILE_REJECT_REASONS) - set(REJECT_FEEDS)
    if missing:
        raise ValueError(f"no feed is assigned to carry the file reject(s) {sorted(missing)}")
    path = out_dir / "faults_manifest.json"
    path.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
