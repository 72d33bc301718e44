"""Render the dbt sources file (`dbt_project/models/staging/_sources.yml`) from the feed contract, so
that dbt's documentation of the raw layer cannot drift from what the loader writes.

The raw layer's quality is the contract's job (quarantine and the Great Expectations checks), so the
sources carry descriptions and freshness, not tests. `python -m pipelines.feeds.dbt_sources` rewrites
the file; a test fails when it is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from pipelines.feeds.contract import FEEDS
from pipelines.feeds.raw_tables import DUCKDB_TYPES, LINEAGE

SOURCES_PATH = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging" / "_sources.yml"

LINEAGE_DOCS = {
    "_extra": "Columns the contract does not name, as a JSON object (null when there were none).",
    "_source_file": "Landing file the row came from, relative to the landing folder.",
    "_row_number": "Data row within that file, from 1.",
    "_load_id": "The Dagster run that loaded the row.",
    "_loaded_at": "When the row was loaded (UTC).",
}


def render() -> str:
    tables = []
    for feed in FEEDS.values():
        columns = [
            {"name": c.name, "data_type": DUCKDB_TYPES[c.dtype],
             "description": c.description + (" Key column." if c.key else "")}
            for c in feed.columns
        ]
        columns += [{"name": name, "data_type": dtype, "description": LINEAGE_DOCS[name]} for name, dtype in LINEAGE]
        version = f"latest `{feed.version_column}`, then the later file" if feed.version_column else "the later file"
        tables.append({
            "name": feed.name,
            "description": f"{feed.description} Key ({', '.join(feed.key)}); current version: {version}.",
            "columns": columns,
        })
    doc = {
        "version": 2,
        "sources": [{
            "name": "raw",
            "schema": "raw",
            "description": (
                "The raw layer the ingestion writes (pipelines/feeds): one table per feed with every version "
                "of every row that arrived, typed per the feed contract, plus lineage columns."
            ),
            "config": {"loaded_at_field": "_loaded_at", "freshness": {"warn_after": {"count": 2, "period": "day"}}},
            "tables": tables,
        }],
    }
    header = "# Generated from pipelines/feeds/contract.py by `python -m pipelines.feeds.dbt_sources`; do not edit.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, width=110)


if __name__ == "__main__":
    SOURCES_PATH.write_text(render())
    sys.stdout.write(f"wrote {SOURCES_PATH}\n")
