"""What a feed folder holds as a run finds it: files still being written, files rewritten or replaced,
entries that are not feed files, files that cannot be opened, headers spelt the way exports spell them,
Parquet written by pandas, and the load order that decides a tie of versions."""

from __future__ import annotations

import os
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.feeds import ingest as ingest_module
from pipelines.feeds.contract import FEEDS
from pipelines.feeds.ingest import ingest_feed
from pipelines.feeds.raw_tables import INGEST_LOG, create_raw_tables
from tests.feeds.test_ingest import HEADER, NOW, order_line, write

INVENTORY = FEEDS["inventory"]
INV_HEADER = ",".join(INVENTORY.column_names)


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def write_inventory(landing: Path, name: str, text: str) -> Path:
    path = landing / "inventory" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def reserved(con) -> list[tuple]:
    """Every version of the one stock position, in load order: (reserved_qty, file, file_seq)."""
    return con.sql("select reserved_qty, _source_file, _file_seq from raw.inventory order by _file_seq").fetchall()


def log(con, feed: str = "inventory") -> list[tuple]:
    return con.execute(
        f"select file, status, reject_reason, message from {INGEST_LOG} where feed = ? order by file, loaded_at",
        [feed],
    ).fetchall()


def test_a_file_still_being_written_is_awaited_and_loads_whole(con, tmp_path):
    # The last value is cut short as a copy in progress leaves it: `10` reads as `1` until the copy ends.
    path = write_inventory(tmp_path, "2024-05-01.csv", f"{INV_HEADER}\n2024-05-01,W1,A,12,1")

    def finish():
        time.sleep(0.3)
        with path.open("a") as f:
            f.write("0\n")

    writer = threading.Thread(target=finish)
    writer.start()
    heard: list[str] = []
    result = ingest_feed(con, INVENTORY, tmp_path, "l1", NOW, settle_seconds=1.0, on_wait=heard.append)
    writer.join()
    assert [f.status for f in result.files] == ["loaded"]
    assert reserved(con) == [(10, "inventory/2024-05-01.csv", 1)]
    assert len(heard) == 1 and "inventory/2024-05-01.csv" in heard[0] and "still being written" in heard[0]


def test_a_file_that_never_settles_waits_for_a_later_run(con, tmp_path):
    path = write_inventory(tmp_path, "2024-05-01.csv", f"{INV_HEADER}\n2024-05-01,W1,A,12,1")
    stop = threading.Event()

    def keep_writing():
        while not stop.is_set():
            os.utime(path)  # a log-like file that is touched all the time
            time.sleep(0.05)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = ingest_feed(con, INVENTORY, tmp_path, "l1", NOW, settle_seconds=0.2)
    finally:
        stop.set()
        writer.join()
    assert [(f.status, f.rows_read) for f in result.files] == [("waiting", 0)]
    assert reserved(con) == []
    # Once it has settled, the next run loads it: a file that was awaited is not taken as seen.
    result = ingest_feed(con, INVENTORY, tmp_path, "l2", NOW, settle_seconds=0.2)
    assert [f.status for f in result.files] == ["loaded"]


def test_a_file_loaded_cut_short_then_finished_loads_again_and_wins(con, tmp_path):
    path = write_inventory(tmp_path, "2024-05-01.csv", f"{INV_HEADER}\n2024-05-01,W1,A,12,1")
    ingest_feed(con, INVENTORY, tmp_path, "l1", NOW)  # no settle time: read while still being written
    with path.open("a") as f:
        f.write("0\n")
    result = ingest_feed(con, INVENTORY, tmp_path, "l2", NOW)
    assert [(f.status, f.message) for f in result.files] == [
        ("loaded", "replaces a file of the same name loaded before: on a tie its versions win")
    ]
    # Two versions of one snapshot under one name: the later delivery comes later in load order.
    assert reserved(con) == [(1, "inventory/2024-05-01.csv", 1), (10, "inventory/2024-05-01.csv", 2)]


def test_a_file_replaced_under_the_same_size_and_mtime_is_a_new_delivery(con, tmp_path):
    path = write_inventory(tmp_path, "2024-05-01.csv", f"{INV_HEADER}\n2024-05-01,W1,A,12,5\n")
    ingest_feed(con, INVENTORY, tmp_path, "l1", NOW)
    before = path.stat()
    # Replaced (`mv` of a corrected copy over it): same size, same mtime, another inode.
    fixed = tmp_path / "fixed.csv"
    fixed.write_text(f"{INV_HEADER}\n2024-05-01,W1,A,12,6\n")
    os.utime(fixed, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(fixed, path)
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert [f.status for f in ingest_feed(con, INVENTORY, tmp_path, "l2", NOW).files] == ["loaded"]
    # Rewritten in place, mtime put back: the inode stays, the change time moves.
    with path.open("r+") as f:
        f.write(f"{INV_HEADER}\n2024-05-01,W1,A,12,7\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert [f.status for f in ingest_feed(con, INVENTORY, tmp_path, "l3", NOW).files] == ["loaded"]
    assert [r[0] for r in reserved(con)] == [5, 6, 7]
    # Nothing changed since: nothing is even read again.
    assert ingest_feed(con, INVENTORY, tmp_path, "l4", NOW).files == []
    # Touched, or copied back from a backup: read again, found to hold the bytes logged for it, and not logged
    # again (the log entry takes the file's new identity, so the next run does not read it either).
    os.utime(path)
    assert ingest_feed(con, INVENTORY, tmp_path, "l5", NOW).files == []
    assert con.sql(f"select count(*) from {INGEST_LOG}").fetchall() == [(3,)]
    assert ingest_module.new_entries(con, INVENTORY, tmp_path) == []


def test_every_entry_that_is_not_loaded_is_logged_once_with_why(con, tmp_path):
    folder = tmp_path / "orders"
    good = write(tmp_path, "2024-01-01.csv", f"{HEADER}\n{order_line()}\n")
    write(tmp_path, "export.xlsx", b"PK\x03\x04 not really a workbook")
    write(tmp_path, "notes.txt", "call the carrier")
    write(tmp_path, ".~lock.2024-01-02.csv#", "editor lock")
    write(tmp_path, "2024-01-03.csv.partial", "order_id")
    (folder / "archive").mkdir()
    (folder / "dangling.csv").symlink_to(folder / "gone.csv")
    (folder / "linked.csv").symlink_to(tmp_path / "elsewhere.csv")
    (tmp_path / "elsewhere.csv").write_text(f"{HEADER}\n{order_line(order_id='O2')}\n")
    os.mkfifo(folder / "pipe.csv")
    result = ingest_feed(con, FEEDS["orders"], tmp_path, "l1", NOW)
    assert {(f.file, f.status, f.reject_reason) for f in result.files} == {
        ("orders/2024-01-01.csv", "loaded", None),
        ("orders/linked.csv", "loaded", None),  # a link to a feed file loads like the file
        ("orders/export.xlsx", "skipped", "unsupported"),
        ("orders/notes.txt", "skipped", "unsupported"),
        ("orders/.~lock.2024-01-02.csv#", "skipped", "temporary"),
        ("orders/2024-01-03.csv.partial", "skipped", "temporary"),
        ("orders/archive", "skipped", "directory"),
        ("orders/dangling.csv", "skipped", "broken_link"),
        ("orders/pipe.csv", "skipped", "not_a_file"),
    }
    skipped = {f: m for f, s, _, m in log(con, "orders") if s == "skipped"}
    assert (
        skipped["orders/export.xlsx"]
        == "not a .csv, .csv.gz or .parquet file (.xlsx: save it as CSV, UTF-8, or Parquet)"
    )
    assert "symbolic link to nothing" in skipped["orders/dangling.csv"]
    assert any("orders/export.xlsx: skipped (unsupported)" in e for e in result.first_errors)
    # Logged once: the next run, with nothing changed, says nothing again.
    assert ingest_feed(con, FEEDS["orders"], tmp_path, "l2", NOW).files == []
    assert good.exists()


def test_a_file_that_cannot_be_opened_is_rejected_and_the_rest_load(con, tmp_path, monkeypatch):
    """Tests run as root, for whom no permission bit denies a read: the refusal is made at the one call
    that reads a file, with the error the operating system gives anyone else."""
    locked = write(tmp_path, "2024-01-01.csv", f"{HEADER}\n{order_line()}\n")
    write(tmp_path, "2024-01-02.csv", f"{HEADER}\n{order_line(order_id='O2')}\n")
    gone = write(tmp_path, "2024-01-03.csv", f"{HEADER}\n{order_line(order_id='O3')}\n")
    read_bytes = Path.read_bytes

    def guarded(self: Path) -> bytes:
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    scan = ingest_module.scan

    def scan_then_remove(landing, feed):
        entries = scan(landing, feed)
        gone.unlink()  # removed after the folder was listed, before it is read
        return entries

    monkeypatch.setattr(Path, "read_bytes", guarded)
    monkeypatch.setattr(ingest_module, "scan", scan_then_remove)
    result = ingest_feed(con, FEEDS["orders"], tmp_path, "l1", NOW)
    assert {(f.file, f.status, f.message) for f in result.files} == {
        ("orders/2024-01-01.csv", "rejected", "cannot be opened: Permission denied"),
        ("orders/2024-01-02.csv", "loaded", None),
        ("orders/2024-01-03.csv", "rejected", "the file was removed before it could be read"),
    }
    monkeypatch.undo()
    # The permissions fixed (which moves the change time): the next run loads it.
    os.chmod(locked, 0o644)
    result = ingest_feed(con, FEEDS["orders"], tmp_path, "l2", NOW)
    assert [(f.file, f.status) for f in result.files] == [("orders/2024-01-01.csv", "loaded")]
    assert con.sql("select order_id from raw.orders order by 1").fetchall() == [("O1",), ("O2",)]


def test_headers_match_ignoring_case_blanks_underscores_and_dashes(con, tmp_path):
    columns = {
        "order_id": "Order ID",
        "line_number": "LINE-NUMBER",
        "quantity_shipped": "Quantity Shipped",
        "shipping_cost": "shipping-cost",
        "order_ts": " OrderTs ",
    }
    header = ",".join(columns.get(c, c) for c in ORDERS_COLUMNS if c != "carrier") + ",qty shipped"
    row = order_line(status="shipped", quantity_shipped="2", shipped_ts="2024-01-02T10:00:00Z", shipping_cost="4.5")
    values = dict(zip(ORDERS_COLUMNS, row.split(","), strict=True))
    line = ",".join(values[c] for c in ORDERS_COLUMNS if c != "carrier") + ",2"
    write(tmp_path, "2024-01-01.csv", f"{header}\n{line}\n")
    result = ingest_feed(con, FEEDS["orders"], tmp_path, "l1", NOW)
    (outcome,) = result.files
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1)
    assert outcome.extra_columns == ["qty shipped"]  # kept as sent
    assert outcome.missing_columns == ["carrier"]
    assert con.sql(
        "select order_id, line_number, quantity_shipped, shipping_cost, _extra from raw.orders"
    ).fetchall() == [("O1", 1, 2, pytest.approx(4.5), '{"qty shipped":"2"}')]
    assert con.sql(f"select missing_columns from {INGEST_LOG}").fetchall() == [(["carrier"],)]


def test_two_spellings_of_one_column_reject_the_file_naming_both(con, tmp_path):
    write(tmp_path, "2024-01-01.csv", f"{HEADER},Order ID\n{order_line()},O9\n")
    (outcome,) = ingest_feed(con, FEEDS["orders"], tmp_path, "l1", NOW).files
    assert (outcome.status, outcome.reject_reason) == ("rejected", "unreadable")
    assert outcome.message == "the header names column(s) more than once: order_id ('order_id', 'Order ID')"


def test_parquet_written_by_pandas_loads_as_the_values_it_represents(con, tmp_path):
    frame = pd.DataFrame(
        {
            "snapshot_date": pd.to_datetime(["2024-05-01", "2024-05-01", "2024-05-02"]),  # pandas has no dates
            "warehouse_id": ["W1", "W1", "W1"],
            "sku": ["A", "B", "C"],
            "on_hand_qty": [12.0, 3.0, 7.0],  # an int column that went through a float
            "reserved_qty": [1.0, 0.0, 2.5],  # 2.5 is no whole number of units
        },
        index=[10, 11, 12],  # a filtered frame: pandas writes its index as a column
    )
    (tmp_path / "inventory").mkdir()
    frame.to_parquet(tmp_path / "inventory" / "2024-05-02.parquet")
    with_time = frame.assign(snapshot_date=pd.to_datetime(["2024-05-03 10:30", "2024-05-03 00:00", "2024-05-03 00:00"]))
    with_time.iloc[:2].assign(reserved_qty=[float("nan"), 1.0]).to_parquet(
        tmp_path / "inventory" / "2024-05-03.parquet"
    )
    result = ingest_feed(con, INVENTORY, tmp_path, "l1", NOW)
    assert [(f.rows_loaded, f.rows_quarantined, f.extra_columns) for f in result.files] == [(2, 1, []), (1, 1, [])]
    assert con.sql(
        "select snapshot_date, sku, on_hand_qty, reserved_qty from raw.inventory order by all"
    ).fetchall() == [
        (date(2024, 5, 1), "A", 12, 1),
        (date(2024, 5, 1), "B", 3, 0),
        (date(2024, 5, 3), "B", 3, 1),
    ]
    reasons = dict(con.sql("select sku || snapshot_date, _reason from raw.inventory_quarantine").fetchall())
    assert "type:reserved_qty: reserved_qty must be int (got 2.5)" in reasons["C2024-05-02"]
    # A time of day is not a date; NaN is a missing value, and reserved_qty is required.
    assert "type:snapshot_date" in reasons["A2024-05-03T10:30:00+00:00"]
    assert "not_null:reserved_qty" in reasons["A2024-05-03T10:30:00+00:00"]


def test_a_warehouse_from_before_load_order_is_numbered_as_it_was_loaded(con, tmp_path):
    """A warehouse created before files had a load order takes the new columns and numbers its files by load
    time, then name (as one run loaded them), so its ties keep resolving as they did."""
    create_raw_tables(con)
    for table, columns in [(INGEST_LOG, ["file_seq", "ctime_ns", "inode", "missing_columns"])] + [
        (f"raw.{f}{q}", ["_file_seq"]) for f in FEEDS for q in ("", "_quarantine")
    ]:
        for column in columns:
            con.execute(f"alter table {table} drop column {column}")
    con.execute(
        f"insert into {INGEST_LOG} (load_id, feed, file, status, rows_read, rows_loaded, loaded_at) values "
        "('l1', 'inventory', 'inventory/b.csv', 'loaded', 1, 1, '2024-01-01'), "
        "('l2', 'inventory', 'inventory/a.csv', 'loaded', 1, 1, '2024-01-02')"
    )
    con.execute(
        "insert into raw.inventory (snapshot_date, warehouse_id, sku, on_hand_qty, reserved_qty, _source_file, "
        "_row_number, _load_id, _loaded_at) values ('2024-05-01', 'W1', 'A', 12, 2, 'inventory/b.csv', 1, 'l1', "
        "'2024-01-01'), ('2024-05-01', 'W1', 'A', 12, 1, 'inventory/a.csv', 1, 'l2', '2024-01-02')"
    )
    create_raw_tables(con)
    assert reserved(con) == [(2, "inventory/b.csv", 1), (1, "inventory/a.csv", 2)]
    assert con.sql(f"select file, file_seq from {INGEST_LOG} order by file_seq").fetchall() == [
        ("inventory/b.csv", 1),
        ("inventory/a.csv", 2),
    ]


ORDERS_COLUMNS = FEEDS["orders"].column_names
