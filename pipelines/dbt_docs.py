"""`scm docs`: dbt's documentation site (models, columns, lineage, tests) for the published warehouse.

The catalog (column types, row counts) is read from a private copy of the published snapshot, so that
neither a running pipeline (which holds the warehouse) nor dbt (which opens its database for writing)
gets in the way of the other, and the snapshot itself is never opened for writing.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipelines import snapshot
from pipelines.assets.dbt_project import DBT_DIR
from pipelines.settings import paths

SITE_FILES = ("index.html", "manifest.json", "catalog.json")


def generate_docs() -> Path:
    """Run `dbt docs generate` against a copy of the current snapshot; returns the site folder."""
    current = snapshot.locate()
    if current.path is None:
        raise current.no_snapshot()
    source = current.path
    site = paths().docs_site
    with tempfile.TemporaryDirectory(prefix="scm-docs-") as tmp:
        copy = Path(tmp) / "warehouse.duckdb"
        shutil.copyfile(source, copy)
        target = Path(tmp) / "target"
        env = {**os.environ, "SCM_WAREHOUSE_PATH": str(copy)}
        dbt = Path(sys.executable).with_name("dbt")
        subprocess.run(
            [
                str(dbt),
                "docs",
                "generate",
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                "--target-path",
                str(target),
                "--log-path",
                str(Path(tmp) / "logs"),
                "--quiet",
            ],
            env=env,
            check=True,
            cwd=tmp,
        )
        site.mkdir(parents=True, exist_ok=True)
        for name in SITE_FILES:
            shutil.copyfile(target / name, site / name)
    return site


def serve_docs(site: Path, host: str, port: int) -> None:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    with ThreadingHTTPServer((host, port), handler) as server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
