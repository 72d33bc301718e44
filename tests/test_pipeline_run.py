"""The whole ingest graph through Dagster, on generated feeds with every kind of fault the contract
names: each feed loads, each fault ends where the manifest says, counts reconcile, the run's exit status
says an ERROR check needs a look, and dropping the same files again changes nothing. Also: what a failed
step's message says, on tiny jobs."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.demo import generate
from pipelines.feeds.contract import FEEDS


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
    contract = [c for c in first_run.checks if c.check == "contract_expectations"]
    assert len(contract) == len(FEEDS)
    flagged = {c.asset for c in contract if not c.passed}
    assert flagged == {f"raw/{name}" for name in FEEDS}  # every feed got at least one bad row


def test_a_rejected_file_makes_the_run_exit_3_and_the_summary_says_error(first_run, data_dir):
    rejected_feeds = {
        f"raw/{feed}"
        for (feed,) in query(data_dir, "select distinct feed from raw.ingest_log where status = 'rejected'")
    }
    assert rejected_feeds
    errors = {c.asset for c in first_run.checks if not c.passed and c.severity == "ERROR"}
    assert rejected_feeds <= errors
    assert first_run.exit_code == 3
    listed = [line.split()[:2] for line in first_run.render().splitlines() if line.startswith("  ")]
    assert ["ERROR", sorted(rejected_feeds)[0]] in listed
    assert [level for level, _ in listed] == sorted((level for level, _ in listed), key=lambda lv: lv != "ERROR")


def test_dbt_builds_the_marts_and_its_tests_pass(first_run, data_dir):
    assert "marts/kpi_monthly" in first_run.materialized
    dbt_checks = [c for c in first_run.checks if c.check != "contract_expectations"]
    assert dbt_checks and all(c.passed for c in dbt_checks), [c for c in dbt_checks if not c.passed]
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


def _run_one(asset) -> object:
    import dagster as dg

    from pipelines.runner import summarise

    return summarise(dg.materialize([asset], instance=dg.DagsterInstance.ephemeral(), raise_on_error=False))


def test_a_retried_step_that_fails_says_what_failed_not_exceeded_max_retries():
    import dagster as dg

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    def flaky():
        raise ValueError('unable to find column "_file_seq"')

    summary = _run_one(flaky)
    assert not summary.success and summary.exit_code == 1
    assert summary.failures == ['flaky: ValueError: unable to find column "_file_seq"']


def test_an_io_step_retries_only_what_a_retry_can_clear():
    """Boundary patch: the errors DuckDB's Python client or the loader would raise; the real full disk is
    in tests/reliability/test_environment_faults.py."""
    import errno

    import dagster as dg

    from pipelines.errors import retry_only_io_errors

    def attempts_and_message(error: Exception) -> tuple[int, str]:
        attempts = []

        @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
        @retry_only_io_errors
        def load():
            attempts.append(1)
            raise error

        (line,) = _run_one(load).failures
        return len(attempts), line.removeprefix("load: ")

    attempts, message = attempts_and_message(
        OSError(errno.ENOSPC, "No space left on device", "/d/warehouse.duckdb.wal")
    )
    assert attempts == 1 and message.startswith("the disk is full: could not write /d/warehouse.duckdb.wal")
    # A bug: the same code fails the same way again.
    assert attempts_and_message(KeyError("_file_seq")) == (1, "KeyError: '_file_seq'")
    flaky = OSError(errno.EIO, "Input/output error", "/share/landing/orders/a.csv")
    assert attempts_and_message(flaky) == (3, "OSError: [Errno 5] Input/output error: '/share/landing/orders/a.csv'")


def test_a_failed_dbt_build_names_the_failed_tests_and_models():
    from pipelines.assets.dbt import build_failure

    results = {
        "results": [
            {"unique_id": "test.scm.unique_fct_orders_order_key.1a2b", "status": "fail", "failures": 3, "message": ""},
            {"unique_id": "model.scm.fct_returns", "status": "error", "message": "Runtime Error\n  Binder Error: x"},
            {"unique_id": "model.scm.kpi_monthly", "status": "skipped", "message": None},
            {"unique_id": "model.scm.dim_date", "status": "success", "message": "OK"},
        ]
    }
    assert build_failure(results, []) == (
        "dbt build failed: test unique_fct_orders_order_key failed (3 failing rows); "
        "model fct_returns: Runtime Error Binder Error: x; 1 skipped after them"
    )
    full = {
        "results": [
            {
                "unique_id": "model.scm.fct_orders",
                "status": "error",
                "message": ('IO Error: Could not write file "/d/warehouse.duckdb": No space left on device'),
            }
        ]
    }
    assert build_failure(full, []).startswith("the disk is full: could not write /d/warehouse.duckdb")
    assert build_failure(None, ["Encountered an error: Parsing Error"]) == (
        "dbt build failed: Encountered an error: Parsing Error"
    )


def test_a_warning_dbt_test_carries_its_failing_rows(tmp_path):
    import dagster as dg

    from pipelines.assets.dbt import with_failing_rows

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema dbt_test_failures")
    con.execute(
        "create table dbt_test_failures.kpi_rates as select * from (values (date '2024-01-01', "
        "'return_rate_units', 41.5), (date '2024-02-01', 'return_rate_units', 1.5)) v(month, kpi, value)"
    )
    node = {"schema": "dbt_test_failures", "alias": "kpi_rates", "config": {"store_failures": True}}
    result = dg.AssetCheckResult(
        asset_key=["marts", "kpi_monthly"],
        check_name="kpi_rates",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unique_id": "test.scm.kpi_rates", "dagster_dbt/failed_row_count": 2},
    )
    done = with_failing_rows(con, result, {"nodes": {"test.scm.kpi_rates": node}})
    assert done.severity == dg.AssetCheckSeverity.WARN and not done.passed
    assert done.description == (
        "2 failing rows, all in the warehouse table dbt_test_failures.kpi_rates; "
        "first: month=2024-01-01, kpi=return_rate_units, value=41.5"
    )
    assert done.metadata["failures_table"].value == "dbt_test_failures.kpi_rates"
    assert done.metadata["failing_rows_sample"].value[1] == {
        "month": "2024-02-01",
        "kpi": "return_rate_units",
        "value": 1.5,
    }
