"""`scm check` (what a file or folder would load, loading nothing: its text and JSON reports and exit codes,
bad profiles, the cross-feed rules against a read-only warehouse) and `scm init` (the data directory's layout
and its example profiles)."""

import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.feeds.contract import FEEDS, ORDERS
from pipelines.feeds.ingest import ingest_feed
from pipelines.feeds.profile import PROFILE_FILE, load_profile

ORDERS_HEADER = (
    "order_id,line_number,order_ts,customer_id,channel,ship_to_region,sku,warehouse_id,quantity_ordered,unit_price,"
    "promised_date,status,quantity_shipped,shipped_ts,delivered_ts,carrier,shipping_cost,updated_at"
)
ORDER_LINE = (
    "SO-{n},1,2024-01-01T10:00:00Z,C-1,web,DE-BW,SKU-1,WH-1,{qty},9.9900,2024-01-05,shipped,{qty},"
    "2024-01-02T10:00:00Z,,DHL,4.5000,2024-01-02T10:00:00Z"
)
RETURNS_HEADER = (
    "return_id,order_id,line_number,sku,requested_ts,received_ts,quantity_returned,reason_code,disposition,"
    "refund_amount,updated_at"
)
RETURN_LINE = "R-{n},SO-1,1,SKU-1,2024-01-03T10:00:00Z,,{qty},damaged,,9.9900,2024-01-03T10:00:00Z"


def _orders(lines: list[str]) -> str:
    return "\n".join([ORDERS_HEADER, *lines]) + "\n"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SCM_LANDING_DIR", raising=False)
    return tmp_path


def _check(*args: str):
    return CliRunner().invoke(main, ["check", *args])


def test_check_reports_load_quarantine_and_reject_with_exit_codes(data_dir):
    folder = data_dir / "landing" / "orders"
    folder.mkdir(parents=True)
    (folder / "a_good.csv").write_text(_orders([ORDER_LINE.format(n=1, qty=2), ORDER_LINE.format(n=2, qty=1)]))
    good = _check()  # the landing folder
    assert good.exit_code == 0, good.output
    assert "orders/a_good.csv: would load all 2 rows" in good.output
    assert "no profile" in good.output

    bad_rows = [ORDER_LINE.format(n=3, qty=1), ORDER_LINE.format(n=4, qty=0), ORDER_LINE.format(n=5, qty=-1)]
    bad_rows.append(ORDER_LINE.format(n=6, qty=1).replace("web", "telepathy"))
    (folder / "b_some_bad.csv").write_text(_orders(bad_rows))
    quarantined = _check(str(folder))
    assert quarantined.exit_code == 1, quarantined.output
    assert "orders/b_some_bad.csv: 1 of 4 rows would load, 3 quarantined" in quarantined.output
    assert "channel_accepted: 1 row(s)" in quarantined.output
    assert "row 4: channel_accepted: channel must be one of web, marketplace, wholesale (got telepathy)" in (
        quarantined.output
    )

    (folder / "c_latin1.csv").write_bytes(
        _orders([ORDER_LINE.format(n=7, qty=1).replace("C-1", "Café")]).encode("cp1252")
    )
    (folder / "notes.txt").write_text("not a feed file")
    rejected = _check(str(folder), "--format", "json")
    assert rejected.exit_code == 2, rejected.output
    report = json.loads(rejected.output)
    assert report["exit_code"] == 2
    files = {f["file"]: f for f in report["feeds"][0]["files"]}
    assert files["orders/a_good.csv"]["status"] == "load" and files["orders/a_good.csv"]["rows_loaded"] == 2
    some_bad = files["orders/b_some_bad.csv"]
    assert (some_bad["status"], some_bad["rows_read"], some_bad["rows_loaded"], some_bad["rows_quarantined"]) == (
        "quarantine",
        4,
        1,
        3,
    )
    by_rule = {r["rule"]: r for r in some_bad["quarantined_by_rule"]}
    assert by_rule["quantity_ordered_range"]["count"] == 2
    assert [r["row"] for r in by_rule["quantity_ordered_range"]["first_rows"]] == [2, 3]
    # The row as sent, with the value that broke the rule.
    assert by_rule["channel_accepted"]["first_rows"][0]["sent"]["channel"] == "telepathy"
    assert files["orders/c_latin1.csv"]["status"] == "reject"
    assert files["orders/c_latin1.csv"]["reject_reason"] == "encoding"
    assert files["orders/notes.txt"]["status"] == "skipped"
    # Nothing was loaded: no warehouse appeared.
    assert not (data_dir / "warehouse.duckdb").exists()

    # One file, named with its feed.
    one = _check(str(folder / "b_some_bad.csv"), "--feed", "orders")
    assert one.exit_code == 1 and "a_good.csv" not in one.output


def test_check_a_bad_profile_is_one_line_and_reads_no_file(data_dir):
    folder = data_dir / "landing" / "orders"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text(_orders([ORDER_LINE.format(n=1, qty=2)]))
    (folder / PROFILE_FILE).write_text("columns:\n  order_number: Order ID\n")
    result = _check(str(folder))
    assert result.exit_code == 2
    (line,) = [x for x in result.output.splitlines() if x.startswith("  bad profile:")]
    assert "orders/_profile.yml: columns.order_number: not a column of the orders feed's contract" in line
    assert "a.csv" not in result.output

    # A source column this file does not have: the profile is wrong, and the folder's files wait.
    (folder / PROFILE_FILE).write_text('columns:\n  customer_id: "Customer No"\n')
    missing = json.loads(_check(str(folder), "--format", "json").output)
    assert missing["exit_code"] == 2
    assert "columns.customer_id" in missing["feeds"][0]["profile_error"]
    assert "Customer No" in missing["feeds"][0]["profile_error"]
    assert missing["feeds"][0]["files"] == []


def test_check_cross_feed_rules_use_the_warehouse_read_only(data_dir):
    returns = data_dir / "landing" / "returns"
    returns.mkdir(parents=True)
    (returns / "r.csv").write_text("\n".join([RETURNS_HEADER, RETURN_LINE.format(n=1, qty=5)]) + "\n")
    unchecked = _check(str(returns))
    assert unchecked.exit_code == 0, unchecked.output
    assert "cross-feed rules not checked: no warehouse yet" in unchecked.output

    # The order line, loaded: it shipped 2 units, so a return of 5 would be quarantined.
    orders = data_dir / "landing" / "orders"
    orders.mkdir()
    (orders / "o.csv").write_text(_orders([ORDER_LINE.format(n=1, qty=2)]))
    warehouse = data_dir / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ingest_feed(con, ORDERS, data_dir / "landing", "load-1", datetime(2024, 1, 4))
    before = warehouse.stat().st_mtime_ns
    checked = json.loads(_check(str(returns), "--format", "json").output)
    assert checked["exit_code"] == 1
    feed = checked["feeds"][0]
    assert feed["cross_feed"] == "checked"
    (rule,) = feed["files"][0]["quarantined_by_rule"]
    assert rule["rule"] == "quantity_returned_le_shipped" and rule["first_rows"][0]["row"] == 1

    # A file whose bytes are loaded already is not loaded again (under any name), as ingest judges it.
    (orders / "o_again.csv").write_bytes((orders / "o.csv").read_bytes())
    again = _check(str(orders))
    assert again.exit_code == 0, again.output
    assert "orders/o.csv: would not load: same content as orders/o.csv: not loaded again" in again.output
    assert "orders/o_again.csv: would not load: same content as orders/o.csv" in again.output
    assert warehouse.stat().st_mtime_ns == before


def test_check_says_what_it_cannot_check(data_dir):
    (data_dir / "elsewhere").mkdir()
    result = _check(str(data_dir / "elsewhere"))
    assert result.exit_code == 2
    assert result.output.startswith("error:") and "not a feed folder" in result.output
    unknown = _check(str(data_dir / "elsewhere"), "--feed", "invoices")
    assert unknown.exit_code == 2 and "'invoices' is not a feed" in unknown.output


def test_init_creates_landing_folders_with_example_profiles_that_change_nothing(data_dir, tmp_path):
    target = tmp_path / "mydata"
    result = CliRunner().invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (target / "landing").iterdir()) == sorted(FEEDS)
    for feed in FEEDS.values():
        profile = target / "landing" / feed.name / PROFILE_FILE
        text = profile.read_text()
        # Every key shown, none in effect: every line a comment.
        assert all(line.startswith("#") for line in text.splitlines()), feed.name
        for key in ("format:", "csv:", "delimiter:", "decimal:", "thousands:", "encoding:", "skip_rows:", "sheet:"):
            assert key in text, (feed.name, key)
        for key in ("columns:", "values:", "defaults:", "profile:", *feed.column_names):
            assert key in text, (feed.name, key)
        assert load_profile(profile.parent, feed) is None
    assert "scm check" in result.output and "scm profile suggest" in result.output and "scm run" in result.output
    assert f"SCM_DATA_DIR={target}" in result.output

    # A contract-shaped file in an initialised folder loads as without a profile.
    (target / "landing" / "orders" / "a.csv").write_text(_orders([ORDER_LINE.format(n=1, qty=2)]))
    checked = _check(str(target / "landing"))
    assert checked.exit_code == 0 and "would load all 1 rows" in checked.output

    # Init again: an edited profile is kept, not overwritten.
    edited = target / "landing" / "orders" / PROFILE_FILE
    edited.write_text('csv: {delimiter: ";"}\n')
    again = CliRunner().invoke(main, ["init", str(target)])
    assert again.exit_code == 0
    assert edited.read_text() == 'csv: {delimiter: ";"}\n'
    assert f"kept {edited}" in again.output


def test_check_agrees_with_ingest_file_by_file(tmp_path):
    """What check says would happen is what loading does, on the demo's bad files and rows."""
    from pipelines.demo import generate
    from pipelines.feeds.check import check_path

    landing = tmp_path / "landing"
    generate(landing, scale=0.01, days=3, seed=3, start=datetime(2024, 1, 1).date(), faults=True)
    now = datetime(2024, 1, 4, 12)
    report = check_path(landing, now=now)
    predicted = {f.file: (f.status, f.rows_loaded, f.rows_quarantined) for fc in report.feeds for f in fc.files}
    assert {s for s, _, _ in predicted.values()} >= {"load", "quarantine", "reject"}
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        for feed in FEEDS.values():
            ingest_feed(con, feed, landing, "load-1", now)
        logged = con.execute("select file, status, rows_loaded, rows_quarantined from raw.ingest_log").fetchall()
    words = {"loaded": "load", "rejected": "reject", "skipped": "skipped"}
    actual = {}
    for file, status, rows_loaded, rows_quarantined in logged:
        status = "quarantine" if status == "loaded" and rows_quarantined else words[status]
        actual[file] = (status, rows_loaded, rows_quarantined)
    assert predicted == actual
