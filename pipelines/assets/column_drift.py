"""Incremental models whose built table no longer has the columns the model declares.

An incremental model adds to the table an earlier build left, and dbt stops it when the columns differ
(`on_schema_change='fail'`): a project updated to a release whose model gained or lost a column would
otherwise fail on the warehouse the previous release built. Each warehouse build compares what every
selected incremental model declares (its yml's columns, in the manifest; tests/test_column_drift.py keeps
them equal to what its SQL returns) with its table in the warehouse, and names the drifted models and the
incremental models built on them (what dbt's `model+` selects) in the var `rebuild_in_full`: that build
makes them from scratch (macros/should_full_refresh.sql) and everything else incrementally.

Only names are compared: the yml declares no types, so a column whose type alone changed is not seen.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb


@dataclass(frozen=True)
class ColumnDrift:
    model: str
    added: tuple[str, ...]  # declared, not in the built table
    removed: tuple[str, ...]  # in the built table, no longer declared
    downstream: tuple[str, ...] = ()  # incremental models built on it, rebuilt in full with it

    def line(self) -> str:
        changes = [f"{', '.join(self.added)} added"] if self.added else []
        changes += [f"{', '.join(self.removed)} removed"] if self.removed else []
        with_them = f", with {', '.join(self.downstream)} built on it" if self.downstream else ""
        return (
            f"{self.model}: its columns changed since it was built ({'; '.join(changes)}); rebuilt in full{with_them}"
        )


def drifted_models(
    declared: Mapping[str, Iterable[str]], built: Mapping[str, Iterable[str]]
) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(model, added, removed) for each model whose built columns differ from its declared ones, in the
    order of `declared`. A model not built yet, or declaring no columns, has nothing to compare."""
    drifted = []
    for model, columns in declared.items():
        want = {c.casefold(): c for c in columns}
        have = {c.casefold(): c for c in built.get(model, ())}
        if not want or not have:
            continue
        added = tuple(want[c] for c in want if c not in have)
        removed = tuple(have[c] for c in have if c not in want)
        if added or removed:
            drifted.append((model, added, removed))
    return drifted


def incremental_models(manifest: Mapping[str, Any], selected: Collection[str]) -> dict[str, Mapping[str, Any]]:
    """The incremental models among the selected unique ids: unique id -> manifest node."""
    return {
        uid: node
        for uid, node in manifest["nodes"].items()
        if uid in selected and node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
    }


def descendants(manifest: Mapping[str, Any], uid: str) -> set[str]:
    """Every model built on the model `uid`, directly or not."""
    found: set[str] = set()
    todo = [uid]
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child.startswith("model.") and child not in found:
                found.add(child)
                todo.append(child)
    return found


def column_drifts(
    manifest: Mapping[str, Any], built: Mapping[str, Iterable[str]], selected: Collection[str]
) -> list[ColumnDrift]:
    """The selected incremental models whose built columns (model name -> columns) differ from their
    declared ones, each with the selected incremental models built on it."""
    models = incremental_models(manifest, selected)
    declared = {node["name"]: list(node["columns"]) for node in models.values()}
    uid_of = {node["name"]: uid for uid, node in models.items()}
    return [
        ColumnDrift(
            model,
            added,
            removed,
            tuple(sorted(models[d]["name"] for d in descendants(manifest, uid_of[model]) if d in models)),
        )
        for model, added, removed in drifted_models(declared, built)
    ]


def rebuilt_in_full(drifts: Iterable[ColumnDrift]) -> list[str]:
    """The models a build makes from scratch for these drifts (the var rebuild_in_full)."""
    return sorted({name for d in drifts for name in (d.model, *d.downstream)})


def built_columns(con: duckdb.DuckDBPyConnection, nodes: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Model name -> the columns of its table in the warehouse (none for a model not built yet)."""
    where = {(n["schema"], n["alias"]): n["name"] for n in nodes}
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database() order by table_schema, table_name, ordinal_position"
    ).fetchall()
    built: dict[str, list[str]] = {}
    for schema, table, column in rows:
        if (schema, table) in where:
            built.setdefault(where[schema, table], []).append(column)
    return built


def find(con: duckdb.DuckDBPyConnection, manifest: Mapping[str, Any], selected: Collection[str]) -> list[ColumnDrift]:
    """column_drifts against the warehouse `con` is connected to."""
    return column_drifts(manifest, built_columns(con, incremental_models(manifest, selected).values()), selected)
