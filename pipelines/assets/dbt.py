"""The dbt project as Dagster assets: one asset per model, dbt tests as asset checks, and dbt sources
mapped onto the assets that write them (raw/<feed>, forecast/<table>) so the lineage runs unbroken from
landing file to mart.

The project is two Dagster definitions because forecasting sits in the middle of it: `warehouse_models`
(staging to KPI marts) feed the forecast, and `planning_models` (tag `planning`: demand_forecast,
replenishment, ...) read what the forecast wrote.

dbt tests on derived KPI values (a rate between 0 and 1) are configured to warn and store their failing
rows (dbt_project/tests/generic/rate_between_0_and_1.sql): one valid but wrong input row must not stop
the build and keep readers on an old snapshot. Their asset checks carry the failing rows, read from the
stored table once dbt has finished; a failed build's message names the tests and models that failed.
"""

import json
import os
import shutil
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliInvocation, DbtCliResource, dbt_assets

from forecasting import store
from pipelines import errors
from pipelines.assets import column_drift
from pipelines.assets.dbt_project import DBT_DIR, dbt_cli, dbt_project, prepare_if_dev
from pipelines.resources import WarehouseResource
from pipelines.settings import duckdb_memory_limit

# What each run builds: models and data tests. dbt's unit tests check SQL logic, not data; they run in
# the test suite (tests/dbt), not every morning.
DBT_BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]

# dbt parses the whole project again when its profile's values (the warehouse path among them) differ
# from those of the parse it starts from, so one parse state kept with the project serves one data
# directory only. Each warehouse keeps its own beside it, and every build starts from it.
PARSE_STATE = "dbt_partial_parse.msgpack"

# Under `dagster dev` only (and only when stale): elsewhere the caller has prepared it (dbt_project.py).
prepare_if_dev()


def dbt_resource() -> DbtCliResource:
    return dbt_cli(dbt_project)


class ScmDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # `source('raw', 'orders')` is the asset the ingest step writes: raw/orders.
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["config"].get("schema") or "main", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return PLANNING_TAG if PLANNING_TAG in dbt_resource_props.get("tags", []) else "warehouse"


PLANNING_TAG = "planning"
_TRANSLATOR = ScmDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class WarehouseBuildConfig(dg.Config):
    """A backfill: the incremental facts also rebuild their rows dated backfill_from .. backfill_to
    (YYYY-MM-DD, both or neither; macro in_backfill_window)."""

    backfill_from: str = ""
    backfill_to: str = ""

    def dbt_vars(self, rebuild_in_full: list[str] | None = None) -> list[str]:
        """The build's --vars: the backfill window, and the models it makes from scratch (column_drift.py)."""
        values: dict[str, Any] = {}
        if self.backfill_from and self.backfill_to:
            values.update(backfill_from=self.backfill_from, backfill_to=self.backfill_to)
        if rebuild_in_full:
            values["rebuild_in_full"] = rebuild_in_full
        return ["--vars", json.dumps(values)] if values else []


def dbt_threads(cores: int) -> int:
    """dbt threads for a machine: one per two cores. DuckDB already runs each query on every core, and dbt's
    own work on each model and test (rendering, logging, bookkeeping) holds Python's lock, so on a small
    machine a second node at once only takes CPU and memory from the first: on 2 cores, 1 thread built the
    warehouse no slower than 2 (nor than 4, with which each large model took several times as long), and
    each node took half as long. On a larger machine, a thread per two cores lets dbt's own work on one node
    overlap another's query."""
    return max(1, cores // 2)


def dbt_env(warehouse: Path) -> dict[str, str]:
    """What a build's dbt process reads from the environment besides what dagster-dbt sets: its profile's
    env_var()s (the warehouse, DuckDB's memory limit, threads)."""
    return {
        "SCM_WAREHOUSE_PATH": str(warehouse),
        "SCM_DUCKDB_MEMORY_LIMIT": duckdb_memory_limit(),
        "SCM_DBT_THREADS": os.environ.get("SCM_DBT_THREADS") or str(dbt_threads(os.cpu_count() or 1)),
    }


def invoke_build(
    dbt: DbtCliResource,
    warehouse: Path,
    target: Path,
    extra_args: list[str] | None = None,
    context: dg.AssetExecutionContext | None = None,
) -> DbtCliInvocation:
    """`dbt build` on a warehouse, started as every run starts it: in a target folder of its own that starts
    from the warehouse's parse state (keep_parse_state stores the next one)."""
    # dbt runs in a child process that inherits this environment (dagster-dbt copies it).
    os.environ.update(dbt_env(warehouse))
    parse_state = warehouse.with_name(PARSE_STATE)
    if parse_state.exists():
        target.mkdir(parents=True)
        shutil.copyfile(parse_state, target / "partial_parse.msgpack")
    return dbt.cli([*DBT_BUILD_ARGS, *(extra_args or [])], context=context, raise_on_error=False, target_path=target)


def keep_parse_state(invocation: DbtCliInvocation, warehouse: Path) -> None:
    """The parse state a build wrote, kept beside its warehouse for the next build to start from."""
    written = invocation.target_path / "partial_parse.msgpack"
    if written.exists():
        parse_state = warehouse.with_name(PARSE_STATE)
        staged = parse_state.with_name(f".{parse_state.name}.{os.getpid()}")
        shutil.copyfile(written, staged)
        staged.replace(parse_state)  # whole or not at all: a killed run leaves the previous state


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    extra_args: list[str] | None = None,
):
    target = DBT_DIR / dbt_project.target_path / f"{context.op_execution_context.op.name}-{uuid.uuid4().hex[:12]}"
    invocation = invoke_build(dbt, warehouse.file, target, extra_args, context=context)
    warned = []
    for event in invocation.stream():
        if isinstance(event, dg.AssetCheckResult) and not event.passed and event.severity == dg.AssetCheckSeverity.WARN:
            warned.append(event)  # completed below: dbt holds the warehouse until it exits
        else:
            yield event
    if warned:
        with warehouse.get_connection() as con:
            for result in warned:
                yield with_failing_rows(con, result, invocation.manifest)
    keep_parse_state(invocation, warehouse.file)
    error = invocation.get_error()
    if error is not None:
        run_results = invocation.target_path / "run_results.json"
        results = json.loads(run_results.read_text()) if run_results.exists() else None
        messages = getattr(invocation, "_error_messages", [])  # dbt's error log lines, when no results
        raise dg.Failure(description=build_failure(results, messages), allow_retries=False) from error


FAILURE_SAMPLE_ROWS = 5


def with_failing_rows(
    con: duckdb.DuckDBPyConnection, result: dg.AssetCheckResult, manifest: Mapping
) -> dg.AssetCheckResult:
    """A dbt test's check result with its failing rows: how many, the table that stores them, the first
    few (in metadata) and the first one (in the description, which `scm run` prints)."""
    meta = {k: getattr(v, "value", v) for k, v in result.metadata.items()}
    count = meta.get("dagster_dbt/failed_row_count")
    text = f"{count} failing row{'' if count == 1 else 's'}" if count is not None else "failed"
    extra: dict[str, Any] = {}
    node = manifest.get("nodes", {}).get(meta.get("unique_id"), {})
    if node.get("config", {}).get("store_failures"):
        table = f"{node['schema']}.{node['alias']}"
        try:
            frame = con.sql(f'select * from "{node["schema"]}"."{node["alias"]}" limit {FAILURE_SAMPLE_ROWS}').pl()
        except duckdb.Error as exc:
            text += f" (stored failures in {table} unreadable: {errors.one_line(str(exc), 120)})"
        else:
            sample = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dicts()]
            text += f", all in the warehouse table {table}"
            if sample:
                text += "; first: " + ", ".join(f"{k}={v}" for k, v in sample[0].items())
            extra = {"failures_table": table, "failing_rows_sample": dg.MetadataValue.json(sample)}
    return dg.AssetCheckResult(
        asset_key=result.asset_key,
        check_name=result.check_name,
        passed=False,
        severity=result.severity,
        description=errors.one_line(text),
        metadata={**result.metadata, **extra},
    )


def _plain(value: Any) -> Any:
    """A value as JSON metadata holds it: numbers stay numbers, dates and the rest become text."""
    if isinstance(value, Decimal):
        return float(value)
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def build_failure(run_results: Mapping | None, messages: list[str]) -> str:
    """One line for a failed `dbt build`: the fault when the environment caused it (errors.py), else the
    failed tests (with their failing row counts) and models (with dbt's message), then what was skipped."""
    results = list((run_results or {}).get("results", []))
    failed = [r for r in results if r.get("status") in ("error", "fail", "runtime error")]
    texts = [r.get("message") or "" for r in failed] + list(messages)
    for text in texts:
        fault = errors.explain(text)
        if fault:
            return fault.message
    if not failed:
        first = next((m for m in messages if m.strip()), "no dbt result")
        return f"dbt build failed: {errors.one_line(first, 200)}"
    parts = []
    for r in failed[:5]:
        kind, _, name = r["unique_id"].split(".")[:3]
        if r.get("status") == "fail":
            parts.append(f"test {name} failed ({r.get('failures')} failing rows)")
        else:
            parts.append(f"{kind} {name}: {errors.one_line(r.get('message') or '', 160)}")
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    skipped = sum(r.get("status") == "skipped" for r in results)
    return f"dbt build failed: {'; '.join(parts)}{more}; {skipped} skipped after them"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=_TRANSLATOR,
    exclude=f"tag:{PLANNING_TAG}",
    name="warehouse_models",
)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: WarehouseBuildConfig
):
    drifts = _column_drifts(context, warehouse)
    for drift in drifts:
        context.log.warning(drift.line())
    yield from _build(context, dbt, warehouse, config.dbt_vars(column_drift.rebuilt_in_full(drifts)))


def _column_drifts(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> list[column_drift.ColumnDrift]:
    """The incremental models of this build whose table in the warehouse no longer has the columns the
    project declares for them (a release that added or dropped one): rebuilt in full rather than failed."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    selected = {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and _TRANSLATOR.get_asset_key(node) in context.selected_asset_keys
    }
    with warehouse.get_connection() as con:
        return column_drift.find(con, manifest, selected)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=_TRANSLATOR,
    select=f"tag:{PLANNING_TAG}",
    name="planning_models",
)
def planning_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    # A run without the forecast step (the `refresh` job) before any forecast ever ran: the planning marts
    # build on empty forecast tables rather than fail on missing ones.
    with warehouse.get_connection() as con:
        store.ensure_tables(con)
    yield from _build(context, dbt, warehouse)
