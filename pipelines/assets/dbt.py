"""The dbt project as Dagster assets: one asset per model, dbt tests as asset checks, and dbt sources
mapped onto the assets that write them (raw/<feed>, forecast/<table>) so the lineage runs unbroken from
landing file to mart.

The project is two Dagster definitions because forecasting sits in the middle of it: `warehouse_models`
(staging to KPI marts) feed the forecast, and `planning_models` (tag `planning`: demand_forecast,
replenishment, ...) read what the forecast wrote.
"""

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from forecasting import store
from pipelines.resources import WarehouseResource
from pipelines.settings import duckdb_memory_limit

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)

# What each run builds: models and data tests. dbt's unit tests check SQL logic, not data; they run in
# the test suite (tests/dbt), not every morning.
DBT_BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]


def _manifest_is_stale(project: DbtProject) -> bool:
    """True when a model, macro, test or the project file changed after the manifest was written."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    folders = ("models", "macros", "tests")
    sources = [DBT_DIR / "dbt_project.yml", *(p for d in folders for p in (DBT_DIR / d).rglob("*"))]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def dbt_resource() -> DbtCliResource:
    # The dbt beside this interpreter, so that the venv need not be on PATH.
    return DbtCliResource(project_dir=dbt_project, dbt_executable=str(Path(sys.executable).with_name("dbt")))


def prepare_manifest(project: DbtProject = dbt_project) -> None:
    """Parse the dbt project when its manifest is missing or older than its files, so that neither a new
    checkout nor an edited model needs a manual `dbt parse`."""
    if _manifest_is_stale(project):
        dbt_resource().cli(["parse", "--quiet"], target_path=project.target_path).wait()


prepare_manifest()


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

    def dbt_vars(self) -> list[str]:
        if not (self.backfill_from and self.backfill_to):
            return []
        return ["--vars", json.dumps({"backfill_from": self.backfill_from, "backfill_to": self.backfill_to})]


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    extra_args: list[str] | None = None,
):
    # dbt runs in a child process that reads the warehouse path and DuckDB's memory limit from its profile's
    # env_var().
    os.environ["SCM_WAREHOUSE_PATH"] = str(warehouse.file)
    os.environ["SCM_DUCKDB_MEMORY_LIMIT"] = duckdb_memory_limit()
    # One dbt thread per core: DuckDB already runs each query on every core, so more models at once than
    # cores only makes the large ones share memory and CPU (at scale 10 on 2 cores, 1 and 2 threads built
    # the warehouse in the same time; with 4, each large model took two to three times as long).
    os.environ.setdefault("SCM_DBT_THREADS", str(os.cpu_count() or 1))
    yield from dbt.cli([*DBT_BUILD_ARGS, *(extra_args or [])], context=context).stream()


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
    yield from _build(context, dbt, warehouse, config.dbt_vars())


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
