"""The dbt project handle, built once: where the project is, how it is parsed, and when.

Importing this (or the assets built on it) never runs dbt. The manifest the assets are defined from is
prepared by `make setup`, by every `scm` command that runs a job (pipelines/runner.py) and, under
`dagster dev`, on each reload of the definitions (`prepare_if_dev`, as dagster-dbt's). Each of them parses
only when the manifest is missing or older than the project's files, so a prepared checkout starts
without a parse and an edited model is never built from a stale manifest.

    .venv/bin/python -m pipelines.assets.dbt_project     # prepare the manifest (what `make setup` runs)
"""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import using_dagster_dev

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def manifest_is_stale(project: DbtProject) -> bool:
    """True when a model, macro, test or the project file changed after the manifest was written."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    root = Path(project.project_dir)
    folders = ("models", "macros", "tests")
    sources = [root / "dbt_project.yml", *(p for d in folders for p in (root / d).rglob("*"))]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


def dbt_cli(project: DbtProject) -> DbtCliResource:
    """The dbt beside this interpreter, so that the venv need not be on PATH."""
    return DbtCliResource(project_dir=project, dbt_executable=str(Path(sys.executable).with_name("dbt")))


dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)


def prepare_manifest(project: DbtProject = dbt_project) -> None:
    """Parse the project if its manifest is missing or stale. The project has no packages: no `dbt deps`."""
    if manifest_is_stale(project):
        dbt_cli(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()


def prepare_if_dev() -> None:
    """dagster-dbt's `DbtProject.prepare_if_dev`, except that it parses a stale manifest only: under
    `dagster dev` an edited model shows on reload, and a prepared checkout starts without a parse."""
    if using_dagster_dev():
        prepare_manifest()


if __name__ == "__main__":
    prepare_manifest()
