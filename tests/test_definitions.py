"""The Dagster code location loads, and holds what `dagster dev` must show."""

import subprocess
import sys
from pathlib import Path

import dagster as dg

from pipelines.feeds.contract import FEEDS

ROOT = Path(__file__).resolve().parents[1]


def test_definitions_validate_with_the_dagster_cli(tmp_path):
    env = {"DAGSTER_HOME": str(tmp_path), "SCM_DATA_DIR": str(tmp_path / "data"), "PATH": ""}
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "pipelines.definitions"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def test_every_feed_has_a_raw_asset_and_a_contract_check():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"raw/{name}" for name in FEEDS} <= keys
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert {(f"raw/{name}", "contract_expectations") for name in FEEDS} <= checks
    assert defs.resolve_job_def("everything") is not None
    assert isinstance(defs.resolve_job_def("everything"), dg.JobDefinition)


def test_lineage_runs_from_the_raw_assets_into_dbt():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for name in FEEDS:
        stg = dg.AssetKey(["staging", f"stg_{name}"])
        upstream = graph.get(stg).parent_keys
        assert dg.AssetKey(["raw", name]) in upstream or any(
            dg.AssetKey(["raw", name]) in graph.get(p).parent_keys for p in upstream
        ), name
    assert dg.AssetKey(["marts", "kpi_monthly"]) in graph.get_all_asset_keys()


def test_every_mart_column_is_documented():
    import json

    from pipelines.assets.dbt import dbt_project

    nodes = json.loads(dbt_project.manifest_path.read_text())["nodes"].values()
    marts = [n for n in nodes if n["resource_type"] == "model" and n["config"].get("schema") == "marts"]
    assert len(marts) >= 15
    undocumented = [f"{n['name']}.{c}" for n in marts for c, col in n["columns"].items() if not col.get("description")]
    assert undocumented == []
    assert all(n.get("description") for n in marts)
