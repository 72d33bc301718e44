"""The dbt project handle: importing the definitions runs no dbt; a stale manifest is detected."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from dagster_dbt import DbtProject

from pipelines.assets.dbt_project import DBT_DIR, dbt_project, manifest_is_stale

NO_DBT = """
import dagster_dbt

def refuse(*args, **kwargs):
    raise SystemExit("dbt was run by an import")

dagster_dbt.DbtCliResource.cli = refuse
import pipelines.definitions
"""


def test_importing_the_definitions_runs_no_dbt():
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_IS_DEV_CLI"}
    done = subprocess.run([sys.executable, "-c", NO_DBT], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_manifest_is_stale_when_a_model_is_newer(tmp_path):
    assert not manifest_is_stale(dbt_project)  # the session prepared it (conftest)
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_DIR, copy, ignore=shutil.ignore_patterns("logs", "dbt_packages"))
    project = DbtProject(project_dir=copy, profiles_dir=copy)
    assert not manifest_is_stale(project)
    built = project.manifest_path.stat().st_mtime
    model = next((copy / "models").rglob("*.sql"))
    os.utime(model, (built + 10, built + 10))
    assert manifest_is_stale(project)
    project.manifest_path.unlink()
    assert manifest_is_stale(project)
