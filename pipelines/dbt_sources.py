"""Render dbt's sources files from the code that writes those tables, so that dbt's documentation of
them cannot drift:

- `dbt_project/models/staging/_sources.yml`: the raw layer, from the feed contract. Its quality is the
  contract's job (quarantine and the Great Expectations checks), so the sources carry descriptions and
  the contract's cadence as freshness (none for master data), not tests. An optional feed's table exists
  empty until its first file; its freshness counts from that file (an empty table is not stale).
- `dbt_project/models/marts/planning/_forecast_sources.yml`: the forecast schema, from forecasting/store.py.

`python -m pipelines.dbt_sources` rewrites both; a test fails when either is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from forecasting import store
from pipelines.feeds.contract import FEEDS
from pipelines.feeds.raw_tables import DUCKDB_TYPES, LINEAGE

MODELS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "models"
SOURCES_PATH = MODELS_DIR / "staging" / "_sources.yml"
FORECAST_SOURCES_PATH = MODELS_DIR / "marts" / "planning" / "_forecast_sources.yml"

LINEAGE_DOCS = {
    "_extra": "Columns the contract does not name, as a JSON object (null when there were none).",
    "_source_file": "Landing file the row came from, relative to the landing folder.",
    "_row_number": "Data row within that file, from 1.",
    "_load_id": "The Dagster run that loaded the row.",
    "_loaded_at": "When the row was loaded (UTC).",
    "_file_seq": "Load order of the file (increasing across runs): on a tie of versions the later delivery wins.",
}


def _dump(doc: dict, origin: str) -> str:
    header = f"# Generated from {origin} by `python -m pipelines.dbt_sources`; do not edit.\n"
    return header + yaml.safe_dump(doc, sort_keys=False, width=110)


def render() -> str:
    tables = []
    for feed in FEEDS.values():
        columns = [
            {
                "name": c.name,
                "data_type": DUCKDB_TYPES[c.dtype],
                "description": c.description + (" Key column." if c.key else ""),
            }
            for c in feed.columns
        ]
        columns += [{"name": name, "data_type": dtype, "description": LINEAGE_DOCS[name]} for name, dtype in LINEAGE]
        version = (
            f"latest `{feed.version_column}`, then the later delivery" if feed.version_column else "the later delivery"
        )
        # The contract's cadence, and only it: master data arrives when it changes, so it has no freshness.
        every = feed.expected_every_hours
        freshness = {"warn_after": {"count": every, "period": "hour"}} if every else None
        config: dict = {"freshness": freshness}
        if every and feed.optional:
            # Never sent: as fresh as now (dbt takes an empty table's null as stale).
            config["loaded_at_query"] = (
                "select coalesce(max(_loaded_at), timezone('UTC', {{ current_timestamp() }})) from {{ this }}"
            )
        optional = " Optional: empty until its first file arrives." if feed.optional else ""
        tables.append(
            {
                "name": feed.name,
                "description": f"{feed.description} Key ({', '.join(feed.key)}); current version: {version}."
                + optional,
                "config": config,
                "columns": columns,
            }
        )
    doc = {
        "version": 2,
        "sources": [
            {
                "name": "raw",
                "schema": "raw",
                "description": (
                    "The raw layer the ingestion writes (pipelines/feeds): one table per feed with every version "
                    "of every row that arrived, typed per the feed contract, plus lineage columns."
                ),
                "config": {"loaded_at_field": "_loaded_at"},
                "tables": tables,
            }
        ],
    }
    return _dump(doc, "pipelines/feeds/contract.py")


def render_forecast() -> str:
    tables = [
        {
            "name": table,
            "description": store.TABLE_DOCS[table],
            "columns": [
                {"name": name, "data_type": store.sql_type(dtype), "description": store.COLUMN_DOCS[name]}
                for name, dtype in schema.items()
            ],
        }
        for table, schema in store.TABLES.items()
    ]
    doc = {
        "version": 2,
        "sources": [
            {
                "name": store.SCHEMA,
                "schema": store.SCHEMA,
                "description": "What the forecasting step writes back (forecasting/store.py): every run, kept.",
                "tables": tables,
            }
        ],
    }
    return _dump(doc, "forecasting/store.py")


GENERATED = {SOURCES_PATH: render, FORECAST_SOURCES_PATH: render_forecast}

if __name__ == "__main__":
    for path, make in GENERATED.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make())
        sys.stdout.write(f"wrote {path}\n")
