"""The published snapshot as a Dagster asset: the last step of a run, after every mart and the forecast.

Dagster runs it only when everything upstream succeeded, so a failed run never publishes and readers
keep the last good snapshot (pipelines/snapshot.py). Its metadata says whether it was built on the previous
snapshot and which tables it wrote."""

from datetime import timedelta

import dagster as dg

from pipelines import snapshot
from pipelines.assets.dbt import planning_models, warehouse_models
from pipelines.assets.forecast import FORECAST_KEYS
from pipelines.assets.ingest import IO_RETRY
from pipelines.errors import retry_only_io_errors
from pipelines.feeds.contract import FEEDS
from pipelines.resources import WarehouseResource

SNAPSHOT_KEY = dg.AssetKey(["serve", "snapshot"])

# What readers see is as fresh as its most frequent feed is expected to be (the contract's cadence): older
# than that and the snapshot fails its freshness, which Dagster evaluates without a run or a sensor.
SNAPSHOT_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=min(f.expected_every_hours for f in FEEDS.values() if f.expected_every_hours))
)


def _published_upstream() -> list[dg.AssetKey]:
    dbt_keys = [*warehouse_models.keys, *planning_models.keys]
    return sorted(
        {k for k in dbt_keys if k.path[0] in snapshot.PUBLISHED_SCHEMAS} | set(FORECAST_KEYS),
        key=lambda k: k.to_user_string(),
    )


@dg.asset(
    key=SNAPSHOT_KEY,
    deps=_published_upstream(),
    group_name="serve",
    kinds={"duckdb"},
    description="Read-only copy of the marts and forecasts that dashboards and `scm sql` read.",
    freshness_policy=SNAPSHOT_FRESHNESS,
    # The copy is retried on an I/O error that may pass; a full disk fails at once (pipelines/errors.py).
    retry_policy=IO_RETRY,
)
@retry_only_io_errors
def published_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        published = snapshot.publish(con, run_id=context.run.run_id)
    build = published.build
    if build.why_full:
        context.log.info(f"snapshot built in full: {build.why_full}")
    return dg.MaterializeResult(
        metadata={
            "path": str(published.path),
            "as_of_date": str(published.as_of_date),
            "size_mib": round(published.path.stat().st_size / 2**20, 1),
            # Copy-on-write or full, and what it wrote: only the tables whose content changed (of which
            # the patched ones had only their changed rows written).
            "build": build.kind,
            "tables_written": len(build.written),
            "tables_patched": len(build.patched),
            "tables_kept": len(build.kept),
            "tables_dropped": len(build.dropped),
            "written": ", ".join(f"{s}.{t}" for s, t in build.written) or "(none)",
            "free_fraction": round(build.free_fraction, 3),
        }
    )
