"""The loaded rows a batch's cross-feed rules compare it with, looked up in the raw layer.

A return is checked against its order line as loaded so far: the line's current version in `raw.orders`
(the latest `updated_at`, a null one older than any; on a tie the later delivery, `_file_seq`; then the
later row of that file: dbt's `version_rank` macro, in SQL here). A rule that adds a row up with the other
rows of its reference (the returns of one order line) also gets those, from the feed's own raw table, at
their current versions. A rule over the feed's own rows as a graph (`acyclic`: a bill of materials) gets every
edge loaded so far. The evaluation itself is `rules.evaluate`, a pure function of the batch and these.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.feeds import rules
from pipelines.feeds.contract import FEEDS, Feed
from pipelines.feeds.raw_tables import raw_table


def current_version_order(feed: Feed) -> str:
    """SQL `order by` that puts a key's current version first."""
    version = f"{feed.version_column} desc nulls last, " if feed.version_column else ""
    return f"{version}_file_seq desc nulls last, _row_number desc"


def lookup(con: duckdb.DuckDBPyConnection, feed: Feed, batch: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """For each feed the batch's cross-feed rules refer to, the current version of every row the batch
    refers to; under the batch's own feed, its loaded rows that refer to the same rows (for summed rules).
    `batch` is the feed's columns as text, as `rules.evaluate` takes it."""
    if batch.height == 0:
        return {}
    graphs = [r for r in feed.all_rules() if r.kind == "acyclic"]
    if graphs:
        # Versions do not matter: an edge is its key, and a key once loaded stays in the bill of materials.
        columns = ", ".join(dict.fromkeys(c for r in graphs for c in (r.other, r.column)))
        return {feed.name: con.sql(f"select distinct {columns} from {raw_table(feed)}").pl()}
    cross = [r for r in feed.all_rules() if r.kind == "at_most_referenced"]
    if not cross:
        return {}
    wanted: dict[str, dict[str, None]] = {}  # referenced feed -> its columns the rules read
    keys: dict[str, list[pl.DataFrame]] = {}  # referenced feed -> the keys the batch refers to
    own: dict[str, None] = {}  # the feed's own columns the summed rules read
    for rule in cross:
        target = FEEDS[rule.references.feed]
        mine = rule.references.columns
        wanted.setdefault(target.name, dict.fromkeys(target.key))[rule.other] = None
        typed = [rules.cast_expr(rules.clean(c), feed.column(c).dtype) for c in mine]
        keys.setdefault(target.name, []).append(
            batch.select([t.alias(k) for t, k in zip(typed, target.key, strict=True)])
        )
        if rule.summed:
            version = [feed.version_column] if feed.version_column else []
            own |= dict.fromkeys([*feed.key, *mine, rule.column, *version])
    out = {
        name: _current(con, FEEDS[name], list(columns), pl.concat(keys[name]).unique(), FEEDS[name].key)
        for name, columns in wanted.items()
    }
    if own:
        rule = next(r for r in cross if r.summed)  # a feed's summed rules share one reference
        target = FEEDS[rule.references.feed]
        # Only rows referring to a known row: the others pass anyway.
        refs = out[target.name].select(
            [pl.col(k).alias(c) for k, c in zip(target.key, rule.references.columns, strict=True)]
        )
        out[feed.name] = _current_of_keys_referring(con, feed, list(own), refs, list(rule.references.columns))
    return out


def _current(con, feed: Feed, columns: list[str], keys: pl.DataFrame, on: tuple[str, ...]) -> pl.DataFrame:
    """The current version of the rows of `feed` whose `on` columns match a row of `keys`."""
    con.register("_wanted_keys", keys.to_arrow())
    try:
        return con.sql(
            f"""
            select {", ".join(columns)} from {raw_table(feed)} semi join _wanted_keys using ({", ".join(on)})
            qualify row_number() over (partition by {", ".join(feed.key)} order by {current_version_order(feed)}) = 1
            """
        ).pl()
    finally:
        con.unregister("_wanted_keys")


def _current_of_keys_referring(con, feed: Feed, columns: list[str], refs: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """The current versions of the feed's keys that have any version referring to a row of `refs` (a key's
    current version may refer elsewhere: the rule compares)."""
    con.register("_wanted_refs", refs.to_arrow())
    key, table = ", ".join(feed.key), raw_table(feed)
    try:
        return con.sql(
            f"""
            select {", ".join(columns)} from {table}
            semi join (select distinct {key} from {table} semi join _wanted_refs using ({", ".join(on)})) using ({key})
            qualify row_number() over (partition by {key} order by {current_version_order(feed)}) = 1
            """
        ).pl()
    finally:
        con.unregister("_wanted_refs")
