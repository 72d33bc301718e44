"""How a raw batch's check result is judged: what warns and what fails."""

import dagster as dg
import pytest

from pipelines.checks import LoadStats, judge
from pipelines.feeds.expectations import ExpectationOutcome

OK = ExpectationOutcome("channel_accepted", "expect_column_values_to_be_in_set", True, 0, [])
FAILED = ExpectationOutcome("channel_accepted", "expect_column_values_to_be_in_set", False, 2, ["fax"])


@pytest.mark.parametrize(
    ("stats", "outcomes", "passed", "severity"),
    [
        (LoadStats("L", 1000, 0, 0), [OK], True, dg.AssetCheckSeverity.WARN),
        (LoadStats("L", 1000, 3, 0), [OK], False, dg.AssetCheckSeverity.WARN),
        (LoadStats("L", 1000, 51, 0), [OK], False, dg.AssetCheckSeverity.ERROR),
        (LoadStats("L", 1000, 0, 1), [OK], False, dg.AssetCheckSeverity.ERROR),
        (LoadStats("L", 1000, 0, 0), [FAILED], False, dg.AssetCheckSeverity.ERROR),
    ],
)
def test_judge(stats, outcomes, passed, severity):
    got_passed, got_severity, text = judge(stats, outcomes)
    assert (got_passed, got_severity) == (passed, severity)
    assert text


def test_freshness_warns_when_a_daily_feed_stops_arriving():
    from datetime import datetime, timedelta

    from pipelines.checks import freshness_checks, judge_freshness
    from pipelines.feeds.contract import FEEDS

    orders, now = FEEDS["orders"], datetime(2026, 3, 2, 6, 0)
    assert judge_freshness(orders, now - timedelta(hours=25), now)[0]
    passed, summary = judge_freshness(orders, now - timedelta(hours=30), now)
    assert not passed and summary == "no new orders file for 30 h (expected every 26 h)"
    assert judge_freshness(orders, None, now) == (False, "no orders file has arrived yet")
    # Master data is sent when it changes: no freshness check for it.
    checked = {key.asset_key.path[-1] for c in freshness_checks for key in c.check_keys}
    assert checked == {"orders", "inventory", "purchase_orders", "returns", "work_orders"}


def test_every_freshness_is_the_contracts_cadence():
    """dbt's source freshness and the snapshot's Dagster freshness policy say what the contract says."""
    from datetime import timedelta

    import yaml

    from pipelines.assets.snapshot import SNAPSHOT_FRESHNESS
    from pipelines.dbt_sources import SOURCES_PATH
    from pipelines.feeds.contract import FEEDS

    (raw,) = yaml.safe_load(SOURCES_PATH.read_text())["sources"]
    assert "freshness" not in raw["config"]
    dbt = {t["name"]: t["config"]["freshness"] for t in raw["tables"]}
    for name, feed in FEEDS.items():
        every = feed.expected_every_hours
        assert dbt[name] == ({"warn_after": {"count": every, "period": "hour"}} if every else None), name
    assert SNAPSHOT_FRESHNESS.fail_window.to_timedelta() == timedelta(hours=26)


def test_contract_check_validates_a_large_load_in_pieces_of_whole_files(tmp_path, monkeypatch):
    """A load validated a few files at a time reports what one validation of all of it does: the same
    expectations, failures and unexpected counts (here rows a polars-rules bug would have let through)."""
    from datetime import date, datetime

    import duckdb

    from pipelines import checks
    from pipelines.demo import generate
    from pipelines.feeds.contract import FEEDS
    from pipelines.feeds.ingest import ingest_feed
    from pipelines.resources import WarehouseResource

    generate(tmp_path / "landing", scale=0.01, seed=3, start=date(2025, 1, 1), days=6)
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ingest_feed(con, FEEDS["orders"], tmp_path / "landing", load_id="L1", now=datetime(2025, 1, 7))
    # One bad row in each of three files: the pieces must add their counts up.
    con.execute(
        "update raw.orders set channel = 'fax' where rowid in (select min(rowid) from raw.orders "
        "group by _source_file order by 1 limit 3)"
    )
    files = checks.loaded_files(con, FEEDS["orders"], "L1")
    con.close()
    assert len(checks.file_groups(files, max_rows=1)) == len(files) >= 3

    check = next(c for c in checks.contract_checks if next(iter(c.check_keys)).asset_key.path[-1] == "orders")
    results = {}
    for rows in (10**9, 1):  # one piece, then one piece per file
        monkeypatch.setattr(checks, "VALIDATE_ROWS", rows)
        results[rows] = check(warehouse=WarehouseResource(path=str(warehouse)))
    whole, pieces = results[10**9], results[1]
    assert not whole.passed and whole.description == "loaded rows break the contract: channel_accepted (3)"
    assert (pieces.passed, pieces.description) == (whole.passed, whole.description)

    def counts(result):
        return {rule: (r["success"], r["unexpected"]) for rule, r in result.metadata["results"].data.items()}

    assert counts(pieces) == counts(whole)
    assert counts(whole)["channel_accepted"] == (False, 3)
    assert pieces.metadata["rows_validated"].value == whole.metadata["rows_validated"].value > 0


def test_a_huge_load_is_validated_on_whole_files_spread_over_it():
    from pipelines.checks import file_groups, files_to_validate

    days = [(f"orders/2025-01-{d:02d}.csv", 100) for d in range(1, 31)]
    assert files_to_validate(days, max_rows=3000) == days
    chosen = files_to_validate(days, max_rows=1000)
    assert [f for f, _ in chosen] == [f"orders/2025-01-{d:02d}.csv" for d in (2, 5, 8, 11, 14, 17, 20, 23, 26, 29)]
    assert file_groups(chosen, max_rows=250) == [[f for f, _ in chosen[i : i + 2]] for i in range(0, 10, 2)]
    assert file_groups([("big.csv", 900), ("a.csv", 10)], max_rows=250) == [["big.csv"], ["a.csv"]]


def _warehouse_with_loads(tmp_path):
    """A warehouse file with raw tables and two logged loads of orders, inventory and purchase orders: L1
    earlier, L2 latest."""
    import duckdb

    from pipelines.feeds.raw_tables import create_raw_tables

    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    create_raw_tables(con)
    for feed in ("orders", "inventory", "purchase_orders"):
        con.execute(
            "insert into raw.ingest_log (load_id, feed, file, status, rows_read, rows_loaded, rows_quarantined, "
            "loaded_at) values ('L1', ?, ?, 'loaded', 0, 0, 0, '2024-01-01'), ('L2', ?, ?, 'loaded', 0, 0, 0, "
            "'2024-01-02')",
            [feed, f"{feed}/a.csv", feed, f"{feed}/b.csv"],
        )
    return path, con


def test_outliers_are_listed_with_their_file_and_row_and_still_load(tmp_path):
    """The issue's cases: a price 1,000x the sku's usual one, on-hand 999,999,999. The rows stay loaded; the
    WARN check names where they are and what is usual."""
    import dagster as dg

    from pipelines import checks
    from pipelines.resources import WarehouseResource

    path, con = _warehouse_with_loads(tmp_path)
    usual = [("L1", "orders/a.csv", n, "S1", 9.99) for n in range(1, 21)]
    latest = [("L2", "orders/b.csv", 1, "S1", 11.5), ("L2", "orders/b.csv", 2, "S1", 9990.0)]
    latest += [("L2", "orders/b.csv", 3, "S2", 0.5)]  # a sku seen once is its own usual: not flagged
    con.executemany(
        "insert into raw.orders (_load_id, _source_file, _row_number, sku, unit_price) values (?, ?, ?, ?, ?)",
        usual + latest,
    )
    stock = [("L1", "inventory/a.csv", n, 40 + n % 30) for n in range(1, 31)]
    stock += [("L2", "inventory/b.csv", 1, 999_999_999), ("L2", "inventory/b.csv", 2, 120)]
    con.executemany(
        "insert into raw.inventory (_load_id, _source_file, _row_number, sku, warehouse_id, on_hand_qty) "
        "values (?, ?, ?, 'S1', 'W1', ?)",
        stock,
    )
    con.close()

    by_feed = {next(iter(c.check_keys)).asset_key.path[-1]: c for c in checks.outlier_checks}
    assert set(by_feed) == {"orders", "inventory", "purchase_orders"}
    warehouse = WarehouseResource(path=str(path))
    orders = by_feed["orders"](warehouse=warehouse)
    assert (orders.passed, orders.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert orders.description == (
        "1 row(s) far above their usual level (loaded): unit_price_outlier (1): unit_price more than 10x the "
        "sku's median unit_price (a decimal or currency slip); first: orders/b.csv row 2, unit_price 9,990 "
        "(usual 9.99)"
    )
    assert orders.metadata["rows"].data == {
        "unit_price_outlier": [{"file": "orders/b.csv", "row": 2, "sku": "S1", "value": 9990.0, "usual": 9.99}]
    }
    inventory = by_feed["inventory"](warehouse=warehouse)
    assert not inventory.passed and inventory.metadata["on_hand_qty_outlier"].value == 1
    (row,) = inventory.metadata["rows"].data["on_hand_qty_outlier"]
    assert (row["file"], row["row"], row["value"]) == ("inventory/b.csv", 1, 999_999_999)
    assert by_feed["purchase_orders"](warehouse=warehouse).passed


def test_an_extra_column_that_looks_like_a_missing_optional_one_warns_naming_both(tmp_path):
    import dagster as dg

    from pipelines import checks
    from pipelines.feeds.misnamed import look_alike
    from pipelines.resources import WarehouseResource

    path, con = _warehouse_with_loads(tmp_path)
    con.execute(
        "update raw.ingest_log set extra_columns = ['gift_wrap', 'qty_shipped'], "
        "missing_columns = ['quantity_shipped', 'carrier'] where load_id = 'L2' and feed = 'orders'"
    )
    con.execute(
        "update raw.ingest_log set extra_columns = ['qty_shipped'], missing_columns = [] "
        "where load_id = 'L2' and feed = 'purchase_orders'"
    )
    con.close()
    by_feed = {next(iter(c.check_keys)).asset_key.path[-1]: c for c in checks.misnamed_checks}
    assert "inventory" not in by_feed  # every inventory column is required: a missing one rejects the file
    warehouse = WarehouseResource(path=str(path))
    result = by_feed["orders"](warehouse=warehouse)
    assert (result.passed, result.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert result.description == (
        "orders/b.csv: column `qty_shipped` looks like `quantity_shipped`, which the file lacks (rename it to load it)"
    )
    assert result.metadata["columns"].data == [
        {"file": "orders/b.csv", "column": "qty_shipped", "looks_like": "quantity_shipped"}
    ]
    # An extra column is only suspicious beside a contract column the file lacks.
    assert by_feed["purchase_orders"](warehouse=warehouse).passed
    missing = ["quantity_shipped", "shipped_ts", "shipping_cost", "received_date", "disposition"]
    assert {x: look_alike(x, missing) for x in ("ShippedQty", "shiped_ts", "shipping_costs", "rcvd_date")} == {
        "ShippedQty": "quantity_shipped",
        "shiped_ts": "shipped_ts",
        "shipping_costs": "shipping_cost",
        "rcvd_date": "received_date",
    }
    assert [look_alike(x, missing) for x in ("gift_wrap", "carrier_name", "notes")] == [None, None, None]


def test_freshness_counts_files_that_arrived_not_entries_skipped_or_awaited(tmp_path):
    """An `.xlsx` dropped every day into a feed folder is skipped: the feed has still stopped arriving."""
    from datetime import UTC, datetime, timedelta

    import duckdb

    from pipelines import checks
    from pipelines.feeds.raw_tables import INGEST_LOG, create_raw_tables
    from pipelines.resources import WarehouseResource

    path = tmp_path / "warehouse.duckdb"
    now = datetime.now(UTC).replace(tzinfo=None)
    with duckdb.connect(str(path)) as con:
        create_raw_tables(con)
        for file, status, hours_ago in [("a.csv", "loaded", 40), ("b.xlsx", "skipped", 1), ("c.csv", "waiting", 1)]:
            con.execute(
                f"insert into {INGEST_LOG} (load_id, feed, file, status, loaded_at) values ('L', 'orders', ?, ?, ?)",
                [f"orders/{file}", status, now - timedelta(hours=hours_ago)],
            )
    (check,) = [c for c in checks.freshness_checks if next(iter(c.check_keys)).asset_key.path[-1] == "orders"]
    result = check(warehouse=WarehouseResource(path=str(path)))
    assert not result.passed and result.description.startswith("no new orders file for 40 h")
