"""Loading landing files into the raw layer: typed good rows, quarantined bad rows, rejected files,
and counts that reconcile. Files here are written by hand so each case is visible in the test."""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.feeds.contract import FEEDS
from pipelines.feeds.ingest import ingest_feed

NOW = datetime(2024, 6, 1, 12, 0)
ORDERS = FEEDS["orders"]
HEADER = ",".join(ORDERS.column_names)


def order_line(**overrides: str) -> str:
    row = {
        "order_id": "O1",
        "line_number": "1",
        "order_ts": "2024-01-01T10:00:00Z",
        "customer_id": "C1",
        "channel": "web",
        "ship_to_region": "EU",
        "sku": "SKU1",
        "warehouse_id": "W1",
        "quantity_ordered": "2",
        "unit_price": "9.99",
        "promised_date": "2024-01-04",
        "status": "open",
        "quantity_shipped": "",
        "shipped_ts": "",
        "delivered_ts": "",
        "carrier": "",
        "shipping_cost": "",
        "updated_at": "2024-01-01T10:00:00Z",
    }
    row.update(overrides)
    return ",".join(row[c] for c in ORDERS.column_names)


def write(landing: Path, name: str, text: str | bytes) -> Path:
    path = landing / "orders" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def load(con, landing: Path, load_id: str = "L1"):
    return ingest_feed(con, ORDERS, landing, load_id, NOW)


def test_good_rows_load_typed_with_lineage(con, tmp_path):
    write(tmp_path, "orders_2024-01-01.csv", "\n".join([HEADER, order_line(), order_line(line_number="2")]))
    result = load(con, tmp_path)
    assert [(f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) for f in result.files] == [("loaded", 2, 2, 0)]
    row = con.sql("select * from raw.orders where line_number = 2").fetchall()[0]
    cols = [d[0] for d in con.sql("select * from raw.orders limit 0").description]
    got = dict(zip(cols, row, strict=True))
    assert got["unit_price"] == Decimal("9.99")
    assert got["order_ts"] == datetime(2024, 1, 1, 10, 0)
    assert got["quantity_shipped"] is None
    assert got["_source_file"] == "orders/orders_2024-01-01.csv"
    assert got["_row_number"] == 2
    assert got["_load_id"] == "L1"


def test_offsets_are_stored_as_utc(con, tmp_path):
    write(
        tmp_path,
        "a.csv",
        "\n".join(
            [
                HEADER,
                order_line(order_ts="2024-01-01T23:30:00-02:00", promised_date="2024-01-02"),
                order_line(line_number="2", order_ts="2024-01-01 10:00:00"),
            ]
        ),
    )
    load(con, tmp_path)
    got = con.sql("select line_number, order_ts, order_ts::date from raw.orders order by 1").fetchall()
    # 23:30 at -02:00 is 01:30 UTC the next day: its UTC date is what the contract counts.
    assert got[0][1:] == (datetime(2024, 1, 2, 1, 30), datetime(2024, 1, 2).date())
    assert got[1][1] == datetime(2024, 1, 1, 10, 0)


def test_bad_rows_are_quarantined_with_file_row_and_rule(con, tmp_path):
    write(
        tmp_path,
        "orders_2024-01-01.csv",
        "\n".join(
            [
                HEADER,
                order_line(),
                order_line(line_number="2", quantity_ordered="-3"),
                order_line(line_number="3", channel="fax"),
                order_line(line_number="4", unit_price="abc"),
                order_line(line_number="5", customer_id=""),
                order_line(),  # the same key and version again
            ]
        ),
    )
    result = load(con, tmp_path)
    assert result.total("rows_read") == 6
    assert result.total("rows_loaded") == 1
    assert result.total("rows_quarantined") == 5
    q = con.sql("select _row_number, _rule, _reason, quantity_ordered from raw.orders_quarantine order by 1").fetchall()
    assert [(r[0], r[1]) for r in q] == [
        (2, "quantity_ordered_range"),
        (3, "channel_accepted"),
        (4, "type:unit_price"),
        (5, "not_null:customer_id"),
        (6, "unique_key"),
    ]
    # One line naming file, row and rule, with the offending value; the value is kept as sent.
    assert q[0][2] == (
        "orders/orders_2024-01-01.csv row 2: quantity_ordered_range: "
        "quantity_ordered must be > 0 and <= 100,000 (got -3)"
    )
    assert q[0][3] == "-3"


def test_extra_columns_are_kept_and_reported(con, tmp_path):
    write(tmp_path, "a.csv", "\n".join([HEADER + ",gift_wrap", order_line() + ",yes"]))
    result = load(con, tmp_path)
    assert result.files[0].extra_columns == ["gift_wrap"]
    assert con.sql("select _extra from raw.orders").fetchall() == [('{"gift_wrap":"yes"}',)]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (HEADER.encode() + b"\n", "empty"),
        (b"\x00\x01\x02garbage\x00", "unreadable"),
        ((HEADER + "\n" + order_line(customer_id="Caf\u00e9")).encode("latin-1"), "encoding"),
        (b"order_id,line_number\nO1,1\n", "missing_columns"),
    ],
)
def test_unreadable_files_are_rejected_and_the_rest_loads(con, tmp_path, content, reason):
    write(tmp_path, "orders_2024-01-01.csv", content)
    write(tmp_path, "orders_2024-01-02.csv", "\n".join([HEADER, order_line()]))
    result = load(con, tmp_path)
    outcome = {f.file: f for f in result.files}
    bad = outcome["orders/orders_2024-01-01.csv"]
    assert (bad.status, bad.reject_reason) == ("rejected", reason)
    assert "\n" not in bad.message
    assert outcome["orders/orders_2024-01-02.csv"].rows_loaded == 1
    logged = con.sql("select file, status, reject_reason from raw.ingest_log order by file").fetchall()
    assert logged[0] == ("orders/orders_2024-01-01.csv", "rejected", reason)


def test_broken_quoting_quarantines_only_the_broken_rows(con, tmp_path):
    text = "\n".join([HEADER, order_line(), order_line(line_number="2") + ",extra,fields", order_line(line_number="3")])
    write(tmp_path, "a.csv", text)
    result = load(con, tmp_path)
    assert (result.total("rows_loaded"), result.total("rows_quarantined")) == (2, 1)
    rule, row = con.sql("select _rule, _row_number from raw.orders_quarantine").fetchall()[0]
    assert (rule, row) == ("malformed_row", 2)


def test_same_bytes_load_once_whatever_the_name(con, tmp_path):
    text = "\n".join([HEADER, order_line()])
    write(tmp_path, "a.csv", text)
    load(con, tmp_path, "L1")
    again = load(con, tmp_path, "L2")
    assert again.files == []  # unchanged file: not even reread
    path = write(tmp_path, "b.csv", text)
    os.utime(path, (1, 1))
    third = load(con, tmp_path, "L3")
    assert [(f.file, f.status) for f in third.files] == [("orders/b.csv", "duplicate")]
    assert con.sql("select count(*) from raw.orders").fetchall() == [(1,)]


def test_updated_order_line_keeps_both_versions(con, tmp_path):
    write(tmp_path, "orders_2024-01-01.csv", "\n".join([HEADER, order_line()]))
    write(
        tmp_path,
        "orders_2024-01-03.csv",
        "\n".join(
            [
                HEADER,
                order_line(
                    status="shipped",
                    quantity_shipped="2",
                    shipped_ts="2024-01-02T08:00:00Z",
                    carrier="DHL",
                    shipping_cost="4.50",
                    updated_at="2024-01-02T08:00:00Z",
                ),
            ]
        ),
    )
    load(con, tmp_path)
    got = con.sql("select status, _source_file from raw.orders order by updated_at").fetchall()
    assert got == [("open", "orders/orders_2024-01-01.csv"), ("shipped", "orders/orders_2024-01-03.csv")]


def test_parquet_files_load_through_the_same_rules(con, tmp_path):
    frame = pl.read_csv(
        ("\n".join([HEADER, order_line(), order_line(line_number="2", quantity_ordered="0")])).encode(),
        infer_schema=False,
    ).with_columns(
        pl.col("quantity_ordered").cast(pl.Int64),
        pl.col("order_ts").str.to_datetime(time_zone="UTC"),
    )
    (tmp_path / "orders").mkdir()
    frame.write_parquet(tmp_path / "orders" / "a.parquet")
    write(tmp_path, "b.parquet", b"not parquet at all")
    result = load(con, tmp_path)
    by_file = {f.file: f for f in result.files}
    assert (by_file["orders/a.parquet"].rows_loaded, by_file["orders/a.parquet"].rows_quarantined) == (1, 1)
    assert by_file["orders/b.parquet"].reject_reason == "unreadable"
    assert con.sql("select order_ts from raw.orders").fetchall() == [(datetime(2024, 1, 1, 10, 0),)]


def test_a_crash_mid_load_leaves_nothing_half_written(con, tmp_path, monkeypatch):
    write(tmp_path, "a.csv", "\n".join([HEADER, order_line(), order_line(line_number="2", channel="fax")]))
    from pipelines.feeds import ingest

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ingest, "_log", boom)
    with pytest.raises(OSError):
        load(con, tmp_path)
    assert con.sql("select count(*) from raw.orders").fetchall() == [(0,)]
    assert con.sql("select count(*) from raw.orders_quarantine").fetchall() == [(0,)]
    monkeypatch.undo()
    assert load(con, tmp_path).total("rows_loaded") == 1


def test_a_products_file_may_leave_out_the_pack_columns_and_a_pack_of_0_is_quarantined(con, tmp_path):
    products = FEEDS["products"]
    folder = tmp_path / "products"
    folder.mkdir()
    (folder / "a_without_packs.csv").write_text(
        "sku,product_name,category,subcategory,unit_cost,list_price,primary_supplier_id,updated_at\n"
        "P1,One,Tools,,2.00,5.00,S1,2024-01-01T00:00:00Z\n"
    )
    (folder / "b_with_packs.csv").write_text(
        "sku,product_name,category,unit_cost,list_price,order_multiple,min_order_qty\n"
        "P2,Two,Tools,2.00,5.00,12,24\n"
        "P3,Three,Tools,2.00,5.00,,\n"
        "P4,Four,Tools,2.00,5.00,0,0\n"
        "P5,Five,Tools,2.00,5.00,6,-1\n"
    )
    result = ingest_feed(con, products, tmp_path, "L1", NOW)
    assert [(f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) for f in result.files] == [
        ("loaded", 1, 1, 0),
        ("loaded", 4, 2, 2),
    ]
    loaded = con.sql("select sku, order_multiple, min_order_qty from raw.products order by sku").fetchall()
    assert loaded == [("P1", None, None), ("P2", 12, 24), ("P3", None, None)]
    q = con.sql("select _row_number, _rule, _reason from raw.products_quarantine order by 1").fetchall()
    assert q == [
        (
            3,
            "order_multiple_range",
            "products/b_with_packs.csv row 3: order_multiple_range: order_multiple must be > 0 and <= 100,000 (got 0)",
        ),
        (
            4,
            "min_order_qty_range",
            "products/b_with_packs.csv row 4: min_order_qty_range: min_order_qty must be >= 0 and <= 100,000 (got -1)",
        ),
    ]
