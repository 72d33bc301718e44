"""The whole ingest graph through Dagster, on generated feeds with every kind of fault the contract
names: each feed loads, each fault ends where the manifest says, counts reconcile, and dropping the
same files again changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.feeds.contract import FEEDS
from pipelines.feeds.generator import generate


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("pipeline")
    generate(data / "landing", scale=0.01, days=60, faults=True)
    return data


@pytest.fixture(scope="module")
def first_run(data_dir):
    from pipelines.runner import run_everything

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCM_DATA_DIR", str(data_dir))
        mp.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
        summary = run_everything()
    return summary


def query(data_dir: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_run_succeeds_and_every_feed_loads(first_run, data_dir):
    assert first_run.success, first_run.failures
    for name in FEEDS:
        meta = first_run.materialized[f"raw/{name}"]
        assert meta["rows_loaded"] > 0, name
        assert meta["rows_read"] == meta["rows_loaded"] + meta["rows_quarantined"], name
        (count,) = query(data_dir, f"select count(*) from raw.{name}")[0]
        assert count == meta["rows_loaded"]


def test_every_fault_in_the_manifest_is_caught_with_its_rule(first_run, data_dir):
    manifest = json.loads((data_dir / "landing" / "faults_manifest.json").read_text())
    rules = {feed: {} for feed in FEEDS}
    for feed in FEEDS:
        for file, row, rules_broken in query(
            data_dir, f"select _source_file, _row_number, _rules from raw.{feed}_quarantine"
        ):
            rules[feed][(file, row)] = set(rules_broken)
    rejects = {
        file: reason
        for file, reason in query(data_dir, "select file, reject_reason from raw.ingest_log where status = 'rejected'")
    }
    assert manifest, "the generator wrote no faults"
    for fault in manifest:
        if fault["expect"] == "reject":
            assert rejects.get(fault["file"]) == fault["rule"], fault
        else:
            broken = rules[fault["feed"]].get((fault["file"], fault["row"]))
            assert broken is not None, f"not quarantined: {fault}"
            assert broken == {fault["rule"], *fault["also_breaks"]}, fault
    # Nothing else was quarantined or rejected: the good rows of the fault files loaded.
    expected_rows = sum(f["expect"] == "quarantine" for f in manifest)
    assert sum(len(r) for r in rules.values()) == expected_rows
    assert len(rejects) == sum(f["expect"] == "reject" for f in manifest)


def test_checks_flag_the_faulty_feeds(first_run):
    contract = [c for c in first_run.checks if c[1] == "contract_expectations"]
    assert len(contract) == len(FEEDS)
    flagged = {asset for asset, _, passed, _ in contract if not passed}
    assert flagged == {f"raw/{name}" for name in FEEDS}  # every feed got at least one bad row


def test_dbt_builds_the_marts_and_its_tests_pass(first_run, data_dir):
    assert "marts/kpi_monthly" in first_run.materialized
    dbt_checks = [c for c in first_run.checks if c[1] != "contract_expectations"]
    assert dbt_checks and all(passed for _, _, passed, _ in dbt_checks), [c for c in dbt_checks if not c[2]]
    (kpis,) = query(data_dir, "select count(distinct kpi) from marts.kpi_monthly")[0]
    assert kpis >= 25


def test_ingest_log_reconciles_per_file(first_run, data_dir):
    bad = query(
        data_dir,
        "select file from raw.ingest_log where status = 'loaded' and rows_read <> rows_loaded + rows_quarantined",
    )
    assert bad == []
    (files,) = query(data_dir, "select count(*) from raw.ingest_log")[0]
    on_disk = sum(1 for p in (data_dir / "landing").rglob("*") if p.is_file() and p.name != "faults_manifest.json")
    assert files == on_disk


def test_running_again_on_the_same_files_changes_nothing(first_run, data_dir):
    from pipelines.runner import run_everything

    before = {name: query(data_dir, f"select count(*) from raw.{name}")[0][0] for name in FEEDS}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCM_DATA_DIR", str(data_dir))
        mp.setenv("DAGSTER_HOME", str(data_dir / "dagster_home"))
        again = run_everything()
    assert again.success
    assert all(again.materialized[f"raw/{n}"]["files_new"] == 0 for n in FEEDS)
    after = {name: query(data_dir, f"select count(*) from raw.{name}")[0][0] for name in FEEDS}
    assert after == before
