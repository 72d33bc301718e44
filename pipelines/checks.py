"""Asset checks an operator acts on, with severities.

Per feed, `contract_expectations`: Great Expectations runs the feed contract on the batch just loaded
(all of it for a daily load; for a first load of years of files, whole files spread evenly over it up
to `VALIDATE_MAX_ROWS`, said in the check's description: the loader's own rules have already judged
every row, GX is the second, independent opinion, and in pandas it takes over 10 s per million order rows).
- a few quarantined rows: WARN (the rows are safe in quarantine; someone should look);
- a rejected file, a file waiting for its folder's profile to be fixed, a quarantined share above
  `MAX_QUARANTINE_SHARE`, or an expectation that fails on loaded rows (which would mean the loader let a
  bad row through): ERROR.

An optional feed (`Feed.optional`: the Make feeds, which a trading business never sends) that has never had
a file passes every check, saying so: its absence is not a fault. Once a file of it has arrived, it is
checked like any other feed.

Per feed with a cadence in the contract, `freshness`: WARN when no new file has arrived for longer than
`Feed.expected_every_hours` (the export upstream may have stopped). It reads file arrivals, not the
raw assets' materializations: those happen on every run, new file or not. The published snapshot has a
Dagster `FreshnessPolicy` from the same cadences (pipelines/assets/snapshot.py), so marts that stopped
refreshing show as stale even when no run happens at all.

Per feed with outliers in the contract, `outliers`: WARN listing the rows of the latest load whose value is
far above its group's usual level over every loaded row (`contract.Outlier`). They are loaded and counted
like any other row: the check says where they are, so that someone can correct the source.

Per feed with optional columns, `misnamed_columns`: WARN when a file of the latest load has an extra
column that looks like an optional contract column the file lacks (pipelines/feeds/misnamed.py): its
values are kept as an extra column and the contract column is null until the file is sent again renamed.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from pipelines.assets.ingest import raw_key
from pipelines.feeds.contract import FEEDS, Feed, Outlier
from pipelines.feeds.expectations import ExpectationOutcome, merge, validate
from pipelines.feeds.ingest import PROFILE_WAIT, in_batches
from pipelines.feeds.misnamed import misnamed_columns
from pipelines.feeds.raw_tables import INGEST_LOG, raw_table
from pipelines.resources import WarehouseResource

MAX_QUARANTINE_SHARE = 0.05
# GX validates a pandas frame, several times the batch's size in memory; a first load of two years of
# orders is validated this many rows at a time. A piece holds whole files: the one expectation across
# rows (a key unique within its file) then sees all the rows it compares.
VALIDATE_ROWS = 1_000_000
VALIDATE_MAX_ROWS = 3_000_000


@dataclass(frozen=True)
class LoadStats:
    load_id: str | None
    rows_read: int
    rows_quarantined: int
    files_rejected: int
    # Files that wait because their folder's profile is invalid or does not fit them, and the profile's error.
    files_waiting_for_profile: int = 0
    profile_error: str | None = None


def judge(stats: LoadStats, outcomes: list[ExpectationOutcome]) -> tuple[bool, dg.AssetCheckSeverity, str]:
    """(passed, severity, one-line summary) for one feed's latest load."""
    failed = [o for o in outcomes if not o.success]
    share = stats.rows_quarantined / stats.rows_read if stats.rows_read else 0.0
    if failed:
        rules = ", ".join(f"{o.rule} ({o.unexpected_count})" for o in failed)
        return False, dg.AssetCheckSeverity.ERROR, f"loaded rows break the contract: {rules}"
    if stats.files_rejected or stats.files_waiting_for_profile:
        parts = [f"{stats.files_rejected} file(s) rejected"] if stats.files_rejected else []
        if stats.files_waiting_for_profile:
            error = (stats.profile_error or "").removeprefix(PROFILE_WAIT)
            parts.append(f"{stats.files_waiting_for_profile} file(s) wait for their profile: {error}")
        return False, dg.AssetCheckSeverity.ERROR, "; ".join(parts)
    if share > MAX_QUARANTINE_SHARE:
        return False, dg.AssetCheckSeverity.ERROR, f"{share:.1%} of rows quarantined (limit {MAX_QUARANTINE_SHARE:.0%})"
    if stats.rows_quarantined:
        return False, dg.AssetCheckSeverity.WARN, f"{stats.rows_quarantined} row(s) quarantined ({share:.2%})"
    return True, dg.AssetCheckSeverity.WARN, "all loaded rows meet the contract"


def latest_load(con, feed: Feed) -> LoadStats:
    row = con.execute(
        f"""
        with latest as (
            select load_id from {INGEST_LOG} where feed = ? order by loaded_at desc limit 1
        )
        select any_value(load_id), coalesce(sum(rows_read), 0), coalesce(sum(rows_quarantined), 0),
               count(*) filter (where status = 'rejected'),
               count(*) filter (where status = 'waiting' and reject_reason = 'profile'),
               min(message) filter (where status = 'waiting' and reject_reason = 'profile')
        from {INGEST_LOG} where feed = ? and load_id = (select load_id from latest)
        """,
        [feed.name, feed.name],
    ).fetchall()[0]
    return LoadStats(row[0], int(row[1]), int(row[2]), int(row[3]), int(row[4]), row[5])


def loaded_files(con, feed: Feed, load_id: str | None) -> list[tuple[str, int]]:
    """(file, rows loaded) of a load's files that put rows in raw, by name (for dated files: by day)."""
    return con.execute(
        f"select file, rows_loaded from {INGEST_LOG} where feed = ? and load_id = ? and rows_loaded > 0 order by file",
        [feed.name, load_id],
    ).fetchall()


def files_to_validate(files: list[tuple[str, int]], max_rows: int) -> list[tuple[str, int]]:
    """All the files when their rows fit `max_rows`; otherwise every k-th file, so that the ones validated
    spread over the whole load (every period, not only the first) and add up to about `max_rows`."""
    total = sum(n for _, n in files)
    if total <= max_rows:
        return files
    step = -(-total // max_rows)  # ceil
    return files[step // 2 :: step]


def file_groups(files: list[tuple[str, int]], max_rows: int) -> list[list[str]]:
    """File names in groups of at most `max_rows` rows, whole files only (a larger file is a group of its own)."""
    return [[name for name, _ in group] for group in in_batches(files, lambda f: f[1], max_rows)]


def _build(feed: Feed) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(feed.name),
        name="contract_expectations",
        description=f"Great Expectations: the {feed.name} feed contract on the latest loaded batch.",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        now = datetime.now(UTC).replace(tzinfo=None)
        parts, rows_validated = [], 0
        with warehouse.get_connection() as con:
            stats = latest_load(con, feed)
            if feed.optional and stats.load_id is None:
                return dg.AssetCheckResult(passed=True, description=never_sent(feed), metadata={"load_id": ""})
            loaded = loaded_files(con, feed, stats.load_id)
            chosen = files_to_validate(loaded, VALIDATE_MAX_ROWS)
            # No rows loaded (or none yet): one empty piece, so every expectation still reports.
            for files in file_groups(chosen, VALIDATE_ROWS) or [[]]:
                batch = con.sql(
                    f"select * exclude (_extra, _row_number, _load_id, _loaded_at) from {raw_table(feed)} "
                    "where _load_id = $load_id and list_contains($files, _source_file)",
                    params={"load_id": stats.load_id, "files": files},
                ).pl()
                parts.append(validate(batch, feed, now, batch_name=f"{stats.load_id}-{len(parts)}"))
                rows_validated += batch.height
        outcomes = merge(parts)
        passed, severity, summary = judge(stats, outcomes)
        rows_loaded = sum(n for _, n in loaded)
        if rows_validated < rows_loaded:
            summary += (
                f" (GX validated {rows_validated:,} of {rows_loaded:,} loaded rows: {len(chosen)} of "
                f"{len(loaded)} files, spread over the load)"
            )
        return dg.AssetCheckResult(
            passed=passed,
            severity=severity,
            description=summary,
            metadata={
                "load_id": stats.load_id or "",
                "rows_validated": rows_validated,
                "rows_loaded": rows_loaded,
                "rows_read": stats.rows_read,
                "rows_quarantined": stats.rows_quarantined,
                "files_rejected": stats.files_rejected,
                "expectations": len(outcomes),
                "expectations_failed": sum(not o.success for o in outcomes),
                "results": dg.MetadataValue.json(
                    {
                        o.rule: {"success": o.success, "unexpected": o.unexpected_count, "sample": o.sample}
                        for o in outcomes
                    }
                ),
            },
        )

    return _check


contract_checks = [_build(feed) for feed in FEEDS.values()]


def never_sent(feed: Feed) -> str:
    return f"no {feed.name} file has arrived: an optional feed, checked once one does"


def judge_freshness(feed: Feed, last_arrival: datetime | None, now: datetime) -> tuple[bool, str]:
    """(passed, one-line summary): has a new file of the feed arrived within its expected cadence?"""
    limit = timedelta(hours=feed.expected_every_hours or 0)
    if last_arrival is None and feed.optional:
        return True, never_sent(feed)
    if last_arrival is None:
        return False, f"no {feed.name} file has arrived yet"
    age = now - last_arrival
    hours = age.total_seconds() / 3600
    if age > limit:
        return False, f"no new {feed.name} file for {hours:.0f} h (expected every {feed.expected_every_hours} h)"
    return True, f"last new {feed.name} file {hours:.1f} h ago"


def _build_freshness(feed: Feed) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(feed.name),
        name="freshness",
        description=f"A new {feed.name} file at least every {feed.expected_every_hours} hours.",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            (last,) = con.execute(
                f"select max(loaded_at) from {INGEST_LOG} where feed = ? and status in ('loaded', 'rejected')",
                [feed.name],
            ).fetchall()[0]
        passed, summary = judge_freshness(feed, last, datetime.now(UTC).replace(tzinfo=None))
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=summary,
            metadata={"last_new_file_at": str(last)},
        )

    return _check


freshness_checks = [_build_freshness(feed) for feed in FEEDS.values() if feed.expected_every_hours]


# Rows listed in a check's metadata, per outlier: enough to find and fix the source; the count says the rest.
LISTED_ROWS = 20


@dataclass(frozen=True)
class OutlierRows:
    outlier: Outlier
    count: int
    rows: list[dict]  # the first LISTED_ROWS, by file and row: file, row, the group, value, usual


def find_outliers(con, feed: Feed, outlier: Outlier, load_id: str | None) -> OutlierRows:
    """Rows of the load whose value is more than `factor` times its group's usual value (a quantile over
    every loaded row of the group, this load's included; a usual value below 1 counts as 1)."""
    group = ", ".join(outlier.group)
    table = raw_table(feed)
    rows = con.execute(
        f"""
        with usual as (
            select {group}, quantile_cont({outlier.column}::double, $q) as usual
            from {table}
            semi join (select distinct {group} from {table} where _load_id = $load_id) using ({group})
            group by all
        )
        select r._source_file, r._row_number, {", ".join(f"r.{g}" for g in outlier.group)},
               r.{outlier.column}::double as value, u.usual, count(*) over () as n
        from {table} r join usual u using ({group})
        where r._load_id = $load_id and r.{outlier.column}::double > $factor * greatest(u.usual, 1)
        order by r._source_file, r._row_number
        limit {LISTED_ROWS}
        """,
        {"q": outlier.quantile, "load_id": load_id, "factor": outlier.factor},
    ).fetchall()
    listed = [
        {"file": r[0], "row": r[1], **dict(zip(outlier.group, r[2:-3], strict=True)), "value": r[-3], "usual": r[-2]}
        for r in rows
    ]
    return OutlierRows(outlier, rows[0][-1] if rows else 0, listed)


def judge_outliers(found: list[OutlierRows]) -> tuple[bool, str]:
    """(passed, one-line summary) of a feed's outlier search."""
    hits = [f for f in found if f.count]
    if not hits:
        return True, "no value far above its usual level in the latest load"
    total = sum(f.count for f in hits)
    first, column = hits[0].rows[0], hits[0].outlier.column
    where = f"first: {first['file']} row {first['row']}, {column} {first['value']:,.15g} (usual {first['usual']:,.15g})"
    parts = "; ".join(f"{f.outlier.name} ({f.count}): {f.outlier.description}" for f in hits)
    return False, f"{total} row(s) far above their usual level (loaded): {parts}; {where}"


def _build_outliers(feed: Feed) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(feed.name),
        name="outliers",
        description=f"Rows of the latest {feed.name} load far above their usual level: "
        + "; ".join(o.description for o in feed.outliers),
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            load_id = latest_load(con, feed).load_id
            found = [find_outliers(con, feed, o, load_id) for o in feed.outliers]
        passed, summary = judge_outliers(found)
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=summary,
            metadata={
                "load_id": load_id or "",
                **{f.outlier.name: f.count for f in found},
                "rows": dg.MetadataValue.json({f.outlier.name: f.rows for f in found if f.count}),
            },
        )

    return _check


outlier_checks = [_build_outliers(feed) for feed in FEEDS.values() if feed.outliers]


def find_misnamed_columns(con, feed: Feed, load_id: str | None) -> list[dict]:
    """Per file of the load: each extra column that looks like an optional contract column the file lacks."""
    files = con.execute(
        f"select file, extra_columns, missing_columns from {INGEST_LOG} "
        "where feed = ? and load_id = ? and status = 'loaded' order by file",
        [feed.name, load_id],
    ).fetchall()
    return [
        {"file": file, "column": extra, "looks_like": column}
        for file, extras, missing in files
        for extra, column in misnamed_columns(list(extras or []), list(missing or []))
    ]


def judge_misnamed(found: list[dict]) -> tuple[bool, str]:
    if not found:
        return True, "no extra column looks like a contract column the file lacks"
    lines = [
        f"{f['file']}: column `{f['column']}` looks like `{f['looks_like']}`, which the file lacks "
        "(rename it to load it)"
        for f in found
    ]
    more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
    return False, lines[0] + more


def _build_misnamed(feed: Feed) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(feed.name),
        name="misnamed_columns",
        description=f"Extra columns of the latest {feed.name} load that look like an optional contract column "
        "the file lacks (its values are loaded as an extra column, not as the contract column).",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            load_id = latest_load(con, feed).load_id
            found = find_misnamed_columns(con, feed, load_id)
        passed, summary = judge_misnamed(found)
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=summary,
            metadata={"load_id": load_id or "", "columns": dg.MetadataValue.json(found)},
        )

    return _check


misnamed_checks = [_build_misnamed(feed) for feed in FEEDS.values() if feed.required_columns != feed.column_names]
