"""The layout follows the architecture: imports run from the readers to the pipeline, never back."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported(package: str) -> dict[str, set[str]]:
    """Top-level packages each module of `package` imports, by module path."""
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = names
    return out


def test_the_pipeline_and_the_forecast_never_import_the_dashboards():
    for package in ("pipelines", "forecasting"):
        wrong = {m: names & {"dashboards", "tests", "benchmarks"} for m, names in _imported(package).items()}
        assert {m: n for m, n in wrong.items() if n} == {}
