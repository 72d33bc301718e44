"""The contract's rules as a Great Expectations suite, and its validation of a loaded batch.

The rules are not written again here: each contract `Rule` kind maps to one GX expectation (a conditional
rule to one with a `row_condition`). The quarantine split runs in polars (`rules.py`); GX then validates
what was loaded, independently, so a bug in either engine shows up as a failed asset check instead of bad
rows in the warehouse. Cross-feed rules have no expectation: GX validates one batch, and their limits are
in another feed's rows (or, for a cycle in a bill of materials, in rows loaded before).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache

import polars as pl

from pipelines.feeds.contract import FUTURE_TOLERANCE_DAYS, MIN_DATE, Feed, Rule

# GX would otherwise try to send usage statistics (there is no network here) and draw progress bars.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@dataclass(frozen=True)
class ExpectationOutcome:
    rule: str
    expectation: str
    success: bool
    unexpected_count: int
    sample: list


@cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _date_of(column: str) -> str:
    return f"{column}__date"


def _differs(rule: Rule) -> str:
    return f"{rule.column}__ne__{rule.other}"


def expectations_for(feed: Feed, now: datetime) -> list[tuple[str, object]]:
    """(rule name, GX expectation) for every column and rule of the feed."""
    import great_expectations.expectations as gxe

    out: list[tuple[str, object]] = []
    for c in feed.columns:
        if not c.nullable:
            name = f"not_null:{c.name}"
            out.append((name, gxe.ExpectColumnValuesToNotBeNull(column=c.name, meta={"rule": name})))
    for rule in feed.all_rules():
        if rule.kind in ("at_most_referenced", "acyclic"):
            # Cross-feed: the limit is in another table (the order line a return refers to), and GX validates
            # one batch. The loader judges it against the loaded rows; no expectation pretends to here.
            continue
        expectation = _expectation(rule, feed, now, gxe)
        expectation.meta = {"rule": rule.name}
        out.append((rule.name, expectation))
    return out


def _row_condition(rule: Rule):
    """The rows a conditional rule applies to, as a GX row condition."""
    from great_expectations.expectations.row_conditions import Column

    when, column = rule.when, Column(rule.when.column)
    if when.positive is not None:
        return (column > 0) if when.positive else (column.is_null() | (column <= 0))
    return column.is_null() if not when.values else column.is_in(list(when.values))


def _expectation(rule: Rule, feed: Feed, now: datetime, gxe):
    if rule.kind == "between":
        conditional = {"row_condition": _row_condition(rule)} if rule.when else {}
        return gxe.ExpectColumnValuesToBeBetween(
            column=rule.column,
            min_value=rule.min,
            max_value=rule.max,
            strict_min=rule.strict_min,
            strict_max=rule.strict_max,
            **conditional,
        )
    if rule.kind == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=rule.column, value_set=list(rule.values))
    if rule.kind == "pattern":
        return gxe.ExpectColumnValuesToMatchRegex(column=rule.column, regex=rule.regex)
    if rule.kind == "pair_ge":
        a, b = (_date_of(rule.column), _date_of(rule.other)) if rule.as_date else (rule.column, rule.other)
        return gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing"
        )
    if rule.kind == "pair_ne":
        # GX has no "A differs from B"; `_prepare` adds the comparison as a column (null when either is).
        return gxe.ExpectColumnValuesToBeInSet(column=_differs(rule), value_set=[True])
    if rule.kind == "null_when":
        return gxe.ExpectColumnValuesToBeNull(column=rule.column, row_condition=_row_condition(rule))
    if rule.kind == "required_when":
        return gxe.ExpectColumnValuesToNotBeNull(column=rule.column, row_condition=_row_condition(rule))
    if rule.kind == "not_future":
        limit = now + timedelta(days=FUTURE_TOLERANCE_DAYS)
        return gxe.ExpectColumnValuesToBeBetween(column=rule.column, max_value=limit)
    if rule.kind == "min_date":
        # Dates are validated as timestamps (see `_prepare`): midnight of the floor day.
        return gxe.ExpectColumnValuesToBeBetween(column=rule.column, min_value=datetime.combine(MIN_DATE, time()))
    if rule.kind == "unique_key":
        return gxe.ExpectCompoundColumnsToBeUnique(column_list=[*rule.column.split(","), "_source_file"])
    raise ValueError(f"no expectation for rule kind {rule.kind!r}")


def _prepare(frame: pl.DataFrame, feed: Feed) -> object:
    """The pandas frame GX validates: dates as timestamps (pandas compares those) and, for rules that
    compare as dates, a date-only copy of each side."""
    extra = []
    for rule in feed.all_rules():
        if rule.kind == "pair_ge" and rule.as_date:
            extra += [pl.col(c).cast(pl.Date).alias(_date_of(c)) for c in (rule.column, rule.other)]
        if rule.kind == "pair_ne":
            extra.append((pl.col(rule.column) != pl.col(rule.other)).alias(_differs(rule)))
    frame = frame.with_columns(extra) if extra else frame
    dates = [pl.col(n).cast(pl.Datetime("us")) for n, t in frame.schema.items() if t == pl.Date]
    decimals = [pl.col(n).cast(pl.Float64) for n, t in frame.schema.items() if isinstance(t, pl.Decimal)]
    return frame.with_columns(dates + decimals).to_pandas()


def merge(parts: list[list[ExpectationOutcome]]) -> list[ExpectationOutcome]:
    """One outcome per expectation from the outcomes of validating a batch in pieces: it succeeds when
    it did on every piece; unexpected rows add up; the sample is the first pieces' samples."""
    merged: dict[str, ExpectationOutcome] = {}
    for outcomes in parts:
        for o in outcomes:
            seen = merged.get(o.rule)
            merged[o.rule] = (
                o
                if seen is None
                else ExpectationOutcome(
                    rule=o.rule,
                    expectation=o.expectation,
                    success=seen.success and o.success,
                    unexpected_count=seen.unexpected_count + o.unexpected_count,
                    sample=(seen.sample + o.sample)[:5],
                )
            )
    return list(merged.values())


def validate(frame: pl.DataFrame, feed: Feed, now: datetime, batch_name: str) -> list[ExpectationOutcome]:
    """Run the feed's suite on `frame` (contract types, plus `_source_file`)."""
    import great_expectations as gx

    ctx = _context()
    name = f"{feed.name}-{batch_name}"
    source = ctx.data_sources.add_or_update_pandas("scm_raw")
    asset = source.add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name).get_batch(
        batch_parameters={"dataframe": _prepare(frame, feed)}
    )
    named = expectations_for(feed, now)
    suite = gx.ExpectationSuite(name=name, expectations=[e for _, e in named])
    result = batch.validate(suite, result_format="SUMMARY")
    source.delete_asset(name)
    outcomes = []
    for res in result.results:
        outcomes.append(
            ExpectationOutcome(
                rule=res.expectation_config.meta["rule"],
                expectation=res.expectation_config.type,
                success=bool(res.success),
                unexpected_count=int(res.result.get("unexpected_count") or 0),
                sample=[str(v) for v in (res.result.get("partial_unexpected_list") or [])[:5]],
            )
        )
    return outcomes
