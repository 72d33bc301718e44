"""One Dagster asset per feed: load the landing folder's new files into `raw.<feed>`.

The work is done by `pipelines.feeds.ingest.ingest_feed`; this module only wires it to Dagster
(resources, retries, metadata). A file that cannot be read is a reject of that file, not an error of the
step; what stops a step is the warehouse or its disk (pipelines/errors.py).
"""

from datetime import UTC, datetime

import dagster as dg

from pipelines.errors import retry_only_io_errors
from pipelines.feeds.contract import FEEDS, Feed
from pipelines.feeds.ingest import ingest_feed
from pipelines.feeds.landing import settle_seconds
from pipelines.resources import LandingResource, WarehouseResource

# Retried with a short backoff: an I/O error that may pass (a network share's hiccup). Everything else fails
# at once (retry_only_io_errors): a fault of the disk or the warehouse file with its sentence, a bug with its
# message; a retry would meet them again.
IO_RETRY = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL)


def raw_key(feed_name: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", feed_name])


def _build(feed: Feed) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_key(feed.name),
        group_name="ingest",
        kinds={"polars", "duckdb"},
        description=f"{feed.description} Every version kept, bad rows in raw.{feed.name}_quarantine."
        + (" Optional: empty while no file of it has arrived." if feed.optional else ""),
        retry_policy=IO_RETRY,
        # Cross-feed rules check a batch against the feeds it refers to as loaded so far, this run's load included.
        deps=sorted({raw_key(r.references.feed) for r in feed.all_rules() if r.references}, key=str),
    )
    @retry_only_io_errors
    def _ingest(context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource):
        now = datetime.now(UTC).replace(tzinfo=None)
        with warehouse.get_connection() as con:
            result = ingest_feed(
                con,
                feed,
                landing.dir,
                load_id=context.run.run_id,
                now=now,
                settle_seconds=settle_seconds(),
                on_wait=context.log.warning,
            )
        for line in result.first_errors[:10]:
            context.log.warning(line)
        return dg.MaterializeResult(
            metadata={
                "files_new": sum(f.status in ("loaded", "rejected") for f in result.files),
                "files_rejected": len(result.rejected),
                "files_duplicate": sum(f.status == "duplicate" for f in result.files),
                "files_skipped": len(result.having("skipped")),
                "files_waiting": sum(f.reject_reason != "profile" for f in result.having("waiting")),
                "files_waiting_for_profile": sum(f.reject_reason == "profile" for f in result.having("waiting")),
                "rows_read": result.total("rows_read"),
                "rows_loaded": result.total("rows_loaded"),
                "rows_quarantined": result.total("rows_quarantined"),
                "quarantined_by_rule": dg.MetadataValue.json(result.quarantine_by_rule),
                "rejected_files": dg.MetadataValue.md(
                    "\n".join(f"- `{f.file}`: {f.reject_reason}: {f.message}" for f in result.rejected) or "none"
                ),
            }
        )

    return _ingest


ingest_assets = [_build(feed) for feed in FEEDS.values()]
