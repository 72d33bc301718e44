"""Render the feed contract (`contract.py`) as the Markdown page `docs/feed-contract.md`.

The page is generated, never edited by hand: `python -m pipelines.feeds.docs` rewrites it, and a test
fails when it is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.feeds.contract import FEEDS, FILE_REJECT_REASONS, MIN_DATE, Feed
from pipelines.feeds.profile import builtin_names
from pipelines.feeds.raw_tables import DUCKDB_TYPES

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "feed-contract.md"

INTRO = """# Feed contract (v1)

<!-- Generated from pipelines/feeds/contract.py by `python -m pipelines.feeds.docs`; do not edit. -->

What to drop into the landing folder, and what the warehouse does with it. The same definitions drive
the demo-data generator, the loader's checks, the Great Expectations suites and this page.

## Landing layout

```
$SCM_LANDING_DIR (default: $SCM_DATA_DIR/landing, i.e. data/landing)
  <feed>/   *.csv | *.csv.gz | *.parquet     one folder per feed below
```

- Any file name; a feed's files load in name order (ISO dates in names sort right).
- Some feeds are optional (marked so below: the Make feeds, work_centers, bill_of_materials and
  work_orders, which a manufacturer sends and a trading business does not). An optional feed's folder may
  be absent: nothing warns about it, its tables are empty, and every model built on it is empty.
- CSV: UTF-8, a header row, comma separated. Header names are matched ignoring case, blanks, `_` and `-`
  (`Quantity Shipped` is `quantity_shipped`).
- Dates `YYYY-MM-DD`; timestamps ISO-8601 with or without an offset (none means UTC). Timestamps are
  stored in UTC, so `order_ts::date` is the UTC date.
- A nullable column may be left out of a file; a missing required column rejects the file.
- Extra columns are kept, as JSON in the raw tables' `_extra` column, and reported in `raw.ingest_log`.
- A file is loaded once: its content hash is recorded, and the same bytes again (under any name) load
  nothing. Files are never moved or changed: they stay where they were dropped.
- Feeds send changes. Every version that arrives is kept in `raw.<feed>` with the file and row it came
  from; the current version of a key is the one with the latest version column; on a tie, the one loaded
  later (a later delivery wins, even under the same file name: a corrected file re-sent, or a `-fixed`
  copy; the files of one run load in name order).
- A file is read once it has stopped changing (size and times unchanged for `SCM_SETTLE_SECONDS`, 30 by
  default): a file still being copied in is waited for, not loaded cut short. A file that changes after it
  was loaded is a new delivery.
- Every entry of a feed folder that is not loaded (a subfolder, an `.xlsx` or `.txt` file, a hidden or
  temporary file, a broken link, a pipe) gets a `skipped` row in `raw.ingest_log` saying why.

## Mapping your own exports (feed profiles)

A `_profile.yml` in a feed's folder maps that folder's files onto the contract: how to read them (`format`:
csv, parquet or xlsx with `sheet`; `csv:` delimiter, decimal, thousands, encoding, skip_rows), where each
contract column comes from (`columns:` a source column, `{value: ...}` or `{sql: ...}`, DuckDB SQL over the
source file), code lists (`values:`) and `defaults:` for required columns an export lacks; `profile: <name>`
starts from a built-in one ({builtins}).
A folder with a profile also takes `.xlsx`, `.tsv` and `.txt` files. Mapped rows are then judged by the
contract like any other; a quarantined one keeps its source row as sent in `_extra`. A profile that is
invalid, or does not fit a file, leaves the folder's files `waiting` with its one-line error (nothing is
half-loaded). `scm check PATH` shows what would load without loading anything; [your-data.md](your-data.md)
goes from a folder of exports to a dashboard, step by step.

## What happens to bad input

- A row that breaks a rule goes to `raw.<feed>_quarantine`, holding the text it was sent with, the file,
  the row number (data rows count from 1; the header is not a row), the first rule broken (`_rule`),
  all of them (`_rules`) and a one-line `_reason`, for example
  `orders/orders_2024-01-02.csv row 17: quantity_ordered_range: quantity_ordered must be > 0 and <= 100,000 (got -3)`.
  Every other row of the file loads. Rows read = rows loaded + rows quarantined, per file, in `raw.ingest_log`.
- Besides the rules listed per feed, every column has a type rule `type:<column>` (the value must parse
  as its type) and every required column a rule `not_null:<column>`. A CSV line that does not split into
  the header's fields breaks `malformed_row`.
- A row that refers to a key the masters do not have (yet) loads; the warehouse maps it to the
  dimension's "unknown" member until the master arrives.
- Some rules compare a row with another feed's (the `at_most_referenced` rules of returns): a return with
  its order line's current version as loaded so far, the same run's orders included (orders load first).
  A return whose order line is not loaded (yet) loads; it is not checked again when the line arrives.
- A bill of materials must not loop (`bom_cycle`): a row that makes a sku, through its components, its own
  component is held back, with the cycle in its reason (`A -> B -> A`). It is judged with the rows loaded
  before and the other rows of the same load; when several new rows close a cycle together, all of them
  are held back (which one is wrong cannot be told).
- A status must agree with the fields it implies (a delivered line has a `delivered_ts`, a cancelled one
  shipped nothing), and no date or timestamp is before {min_date} (`<column>_min_date`).
- A value that is possible but far from its usual level (listed per feed under "Outliers") loads, and the
  feed's `outliers` check warns with the file and row of each. A file's extra column that looks like an
  optional contract column the file lacks (`qty_shipped` for `quantity_shipped`) is loaded as an extra
  column, and the feed's `misnamed_columns` check warns naming both.
- A whole file is rejected, with a one-line reason in `raw.ingest_log`, when it is:
"""


def render() -> str:
    intro = INTRO.replace("{min_date}", MIN_DATE.isoformat())
    parts = [intro.replace("{builtins}", ", ".join(f"`{n}`" for n in builtin_names()))]
    parts += [f"  - `{key}`: {text}" for key, text in FILE_REJECT_REASONS.items()]
    parts.append("\n## Types\n")
    parts.append("| contract type | stored as |\n|---|---|")
    parts += [f"| {t} | `{d}` |" for t, d in DUCKDB_TYPES.items()]
    parts.append("\n## Feeds\n")
    parts.append("(K) marks a key column; `?` a nullable one.\n")
    for feed in FEEDS.values():
        parts.append(_feed_section(feed))
    return "\n".join(parts).rstrip() + "\n"


def _feed_section(feed: Feed) -> str:
    lines = [f"### {feed.name}\n", feed.description, ""]
    version = f"`{feed.version_column}`, then the later delivery" if feed.version_column else "the later delivery"
    cadence = (
        f" A new file is expected at least every {feed.expected_every_hours} hours (freshness check)."
        if feed.expected_every_hours
        else " Sent when it changes (no freshness expectation)."
    )
    optional = " Optional: send it only if it applies to you; without it nothing warns." if feed.optional else ""
    lines.append(f"Key: ({', '.join(feed.key)}); current version: {version}.{cadence}{optional}\n")
    lines.append("| column | type | description |\n|---|---|---|")
    for c in feed.columns:
        mark = " (K)" if c.key else (" ?" if c.nullable else "")
        lines.append(f"| {c.name}{mark} | {c.dtype} | {c.description} |")
    lines.append("\n| rule | meaning |\n|---|---|")
    lines += [f"| `{r.name}` | {r.description} |" for r in feed.all_rules()]
    if feed.outliers:
        lines.append("\nOutliers (loaded, listed by the `outliers` check):\n")
        lines.append("| outlier | meaning |\n|---|---|")
        lines += [f"| `{o.name}` | {o.description} |" for o in feed.outliers]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    DOC_PATH.parent.mkdir(exist_ok=True)
    DOC_PATH.write_text(render())
    sys.stdout.write(f"wrote {DOC_PATH}\n")
