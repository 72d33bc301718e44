"""Feed profiles: exports as real systems write them, mapped onto the contract through a folder's
`_profile.yml` and loaded with `ingest_feed` on an in-memory DuckDB. Each file is written here by hand, so
that the value each case cares about is visible in the test."""

from __future__ import annotations

import gzip
import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines import checks
from pipelines.feeds import profile as profiles
from pipelines.feeds.contract import FEEDS
from pipelines.feeds.ingest import ingest_feed
from pipelines.feeds.profile import Constant, ProfileError, Source, Sql, load_profile, parse_profile

NOW = datetime(2024, 6, 1, 12, 0)
ORDERS = FEEDS["orders"]

# What every test export leaves out, given once (the contract's required order columns).
DEFAULTS = """
defaults:
  customer_id: C1
  channel: web
  ship_to_region: EU
  warehouse_id: MAIN
  promised_date: 2024-01-09
  status: open
  updated_at: 2024-01-01T00:00:00Z
"""


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def write(landing: Path, name: str, content: str | bytes, feed: str = "orders") -> Path:
    path = landing / feed / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def load(con, landing: Path, load_id: str = "L1", now: datetime = NOW):
    return ingest_feed(con, ORDERS, landing, load_id, now)


def rows(con, sql: str) -> list[dict]:
    return con.sql(sql).pl().to_dicts()


def test_european_spreadsheet_export_loads_with_its_marks_codes_and_dates(con, tmp_path):
    """Semicolons, decimal commas, thousands points, cp1252, a title line, spaced names, day-first dates and
    the export's own status codes; one row has a code the profile does not list: quarantined as sent."""
    write(
        tmp_path,
        "_profile.yml",
        r"""
description: a European ERP's order report
format: csv
csv: {delimiter: ";", decimal: ",", thousands: ".", encoding: cp1252, skip_rows: 1}
columns:
  order_id: "Order No"
  line_number: {value: 1}
  order_ts: {sql: "strftime(strptime(\"Order Date\", '%d/%m/%Y %H:%M'), '%Y-%m-%dT%H:%M:%SZ')"}
  customer_id: "Customer Name"
  sku: Article
  quantity_ordered: Qty
  unit_price: "Unit Price €"
  status: State
values:
  status: {OFFEN: open, STORNO: cancelled}
defaults:
  channel: web
  ship_to_region: EU
  warehouse_id: MAIN
  promised_date: 2024-02-28
  updated_at: 2024-01-01T00:00:00Z
""",
    )
    text = (
        "Orders export 02.01.2024;;;;;;\n"
        "Order No;Order Date;Customer Name;Article;Qty;Unit Price €;State\n"
        "A1;01/02/2024 09:30;Müller Café;SKU-1;1.200;1.234,50;OFFEN\n"
        "A2;13/02/2024 17:05;Ørsted;SKU-2;3;9,99;STORNO\n"
        "A3;14/02/2024 08:00;Dupont;SKU-3;2;0,5;UNBEKANNT\n"
    )
    write(tmp_path, "orders.csv", text.encode("cp1252"))
    result = load(con, tmp_path)
    assert [(f.file, f.status, f.rows_read, f.rows_loaded, f.rows_quarantined) for f in result.files] == [
        ("orders/orders.csv", "loaded", 3, 2, 1)
    ]
    got = rows(con, "select * from raw.orders order by order_id")
    assert [(r["order_id"], r["order_ts"], r["customer_id"]) for r in got] == [
        ("A1", datetime(2024, 2, 1, 9, 30), "Müller Café"),  # day first: 1 February, not 2 January
        ("A2", datetime(2024, 2, 13, 17, 5), "Ørsted"),
    ]
    assert [(r["quantity_ordered"], r["unit_price"], r["status"]) for r in got] == [
        (1200, Decimal("1234.50"), "open"),
        (3, Decimal("9.99"), "cancelled"),
    ]
    assert {(r["line_number"], r["warehouse_id"], r["promised_date"]) for r in got} == {(1, "MAIN", date(2024, 2, 28))}
    assert [r["_row_number"] for r in got] == [1, 2]  # data rows from 1, after the title and the header
    # Every loaded row keeps the source row as sent.
    assert json.loads(got[0]["_extra"])["Unit Price €"] == "1.234,50"
    # The unknown code is not mapped to anything: the contract's code list refuses it, naming it.
    (bad,) = rows(con, "select * from raw.orders_quarantine")
    assert bad["_rule"] == "status_accepted"
    assert bad["_reason"].startswith("orders/orders.csv row 3: status_accepted") and "UNBEKANNT" in bad["_reason"]
    assert bad["status"] == "UNBEKANNT" and bad["unit_price"] == "0.5"
    assert json.loads(bad["_extra"]) == {
        "Order No": "A3",
        "Order Date": "14/02/2024 08:00",
        "Customer Name": "Dupont",
        "Article": "SKU-3",
        "Qty": "2",
        "Unit Price €": "0,5",
        "State": "UNBEKANNT",
    }
    # The profile is not a feed file: not logged at all.
    assert con.sql("select file from raw.ingest_log").fetchall() == [("orders/orders.csv",)]


def test_a_number_not_written_in_the_profiles_form_is_refused_not_guessed(con, tmp_path):
    write(tmp_path, "_profile.yml", 'csv: {delimiter: ";", decimal: ",", thousands: "."}\n' + DEFAULTS)
    text = "order_id;line_number;order_ts;sku;quantity_ordered;unit_price\n"
    text += "A1;1;2024-01-01T10:00:00Z;S;2;12.5.0\nA2;1;2024-01-01T10:00:00Z;S;1.000;+1.234,25\n"
    write(tmp_path, "a.csv", text)
    load(con, tmp_path)
    assert rows(con, "select _rule, unit_price from raw.orders_quarantine") == [
        {"_rule": "type:unit_price", "unit_price": "12.5.0"}
    ]
    assert con.sql("select order_id, quantity_ordered, unit_price from raw.orders").fetchall() == [
        ("A2", 1000, Decimal("1234.25"))
    ]


def test_a_row_that_does_not_split_on_the_profiles_delimiter_is_quarantined_as_sent(con, tmp_path):
    write(tmp_path, "_profile.yml", 'csv: {delimiter: ";", skip_rows: 2}\n' + DEFAULTS)
    text = "Report\n\norder_id;line_number;order_ts;sku;quantity_ordered;unit_price\n"
    text += 'A1;1;2024-01-01T10:00:00Z;S;2;1.5\nA2;1;2024-01-01T10:00:00Z;S;2;1.5;oops\nA3;1;"x"y;S;2;1\n'
    write(tmp_path, "a.csv", text)
    result = load(con, tmp_path)
    assert [(f.rows_read, f.rows_loaded, f.rows_quarantined) for f in result.files] == [(3, 1, 2)]
    bad = rows(con, "select _row_number, _rule, _reason, _extra from raw.orders_quarantine order by 1")
    assert [(b["_row_number"], b["_rule"]) for b in bad] == [(2, "malformed_row"), (3, "malformed_row")]
    assert "has 7 fields, the header has 6" in bad[0]["_reason"]
    assert "has text after a closing quote" in bad[1]["_reason"]
    assert json.loads(bad[0]["_extra"])["line"] == "A2;1;2024-01-01T10:00:00Z;S;2;1.5;oops"


def test_tab_separated_utf16_gzip_and_a_tsv_suffix_load(con, tmp_path):
    """Excel's "Unicode text" (UTF-16, tab-separated), gzipped: contract names in other spellings map by name."""
    write(tmp_path, "_profile.yml", 'csv: {delimiter: "\\t", encoding: utf-16}\n' + DEFAULTS)
    text = (
        "Order ID\tLine Number\tOrder TS\tSKU\tQuantity Ordered\tUnit Price\nB1\t2\t2024-01-01T10:00:00Z\tS\t4\t7.5\n"
    )
    write(tmp_path, "export.tsv.gz", gzip.compress(text.encode("utf-16")))
    result = load(con, tmp_path)
    assert [(f.status, f.rows_loaded) for f in result.files] == [("loaded", 1)]
    assert con.sql("select order_id, line_number, quantity_ordered, unit_price from raw.orders").fetchall() == [
        ("B1", 2, 4, Decimal("7.5"))
    ]


def test_xlsx_sheet_loads_its_numbers_and_dates(con, tmp_path):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    book.add_worksheet("Notes").write(0, 0, "not the orders")
    sheet = book.add_worksheet("Orders")
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    sheet.write_row(0, 0, ["Order", "Placed", "Item", "Units", "Price", "Promised"])
    for i, (units, price, promised) in enumerate([(2, 19.9, datetime(2024, 1, 5)), (5, 3, datetime(2024, 1, 7))]):
        sheet.write_row(i + 1, 0, [f"X{i + 1}", "2024-01-01T10:00:00Z", "SKU-9", units, price])
        sheet.write_datetime(i + 1, 5, promised, day)
    book.close()
    write(
        tmp_path,
        "_profile.yml",
        "format: xlsx\nsheet: Orders\n"
        "columns: {order_id: Order, line_number: {value: 1}, order_ts: Placed, sku: Item, quantity_ordered: Units,"
        " unit_price: Price, promised_date: Promised}\n" + DEFAULTS.replace("  promised_date: 2024-01-09\n", ""),
    )
    write(tmp_path, "orders.xlsx", buf.getvalue())
    result = load(con, tmp_path)
    assert [(f.status, f.rows_loaded, f.rows_quarantined) for f in result.files] == [("loaded", 2, 0)]
    got = con.sql("select order_id, quantity_ordered, unit_price, promised_date from raw.orders order by 1").fetchall()
    assert got == [("X1", 2, Decimal("19.9"), date(2024, 1, 5)), ("X2", 5, Decimal("3"), date(2024, 1, 7))]


def test_parquet_with_a_profile_and_a_builtin_overridden(con, tmp_path, monkeypatch):
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "tiny.yml").write_text(
        "feed: orders\ncolumns: {order_id: ref, line_number: {value: 1}, warehouse_id: site}\n"
        "values: {warehouse_id: {A: W-A, B: W-B}}\n" + DEFAULTS.replace("  warehouse_id: MAIN\n", "")
    )
    monkeypatch.setattr(profiles, "BUILTIN_DIR", builtin)
    with pytest.raises(ProfileError, match=r"^builtin:tiny: profile: builtin:tiny is a profile for the orders feed"):
        profiles.builtin_profile("tiny", FEEDS["returns"])
    # The folder's keys override the built-in's per column and per code.
    write(tmp_path, "_profile.yml", "profile: tiny\ncolumns: {sku: item}\nvalues: {warehouse_id: {B: W-B2}}\n")
    frame = pl.DataFrame(
        {
            "ref": ["P1", "P2"],
            "site": ["A", "B"],
            "item": ["S1", "S2"],
            "order_ts": [datetime(2024, 1, 1, 10), datetime(2024, 1, 2, 11)],
            "quantity_ordered": [1.0, 2.0],  # pandas' int column with a gap is floats
            "unit_price": [2.5, 3.0],
        }
    )
    buf = io.BytesIO()
    frame.write_parquet(buf)
    write(tmp_path, "orders.parquet", buf.getvalue())
    load(con, tmp_path)
    assert con.sql(
        "select order_id, sku, warehouse_id, quantity_ordered, order_ts from raw.orders order by 1"
    ).fetchall() == [
        ("P1", "S1", "W-A", 1, datetime(2024, 1, 1, 10)),
        ("P2", "S2", "W-B2", 2, datetime(2024, 1, 2, 11)),
    ]


def test_without_a_profile_nothing_changes_and_an_xlsx_is_still_skipped(con, tmp_path):
    header = ",".join(ORDERS.column_names)
    write(tmp_path, "book.xlsx", b"PK\x03\x04")
    write(tmp_path, "a.csv", header + "\n")
    result = load(con, tmp_path)
    assert {f.file: (f.status, f.reject_reason) for f in result.files} == {
        "orders/book.xlsx": ("skipped", "unsupported"),
        "orders/a.csv": ("rejected", "empty"),
    }


def test_a_profile_of_comments_only_reads_a_contract_shaped_file_as_without_one(con, tmp_path):
    """`scm init` writes a commented example profile into every folder: it changes nothing until filled in."""
    write(tmp_path, "_profile.yml", "# columns:\n#   order_id: Order No\n")
    header = ",".join(ORDERS.column_names)
    line = "O1,1,2024-01-01T10:00:00Z,C1,web,EU,S,W1,2,9.99,2024-01-04,open,,,,,,2024-01-01T10:00:00Z"
    write(tmp_path, "a.csv", f"{header},gift_wrap\n{line},yes\n")
    write(tmp_path, "export.xlsx", b"PK\x03\x04")  # what only a profile reads: skipped, as without one
    result = load(con, tmp_path)
    assert sorted((f.file, f.status, f.rows_loaded, f.extra_columns) for f in result.files) == [
        ("orders/a.csv", "loaded", 1, ["gift_wrap"]),
        ("orders/export.xlsx", "skipped", 0, []),
    ]
    assert con.sql("select _extra from raw.orders").fetchall() == [('{"gift_wrap":"yes"}',)]


GOOD_FILE = "Ref;Qty\nA1;2\nA2;3\n"
GOOD_PROFILE = (
    'csv: {delimiter: ";"}\ncolumns: {order_id: Ref, line_number: {value: 1}, quantity_ordered: Qty,'
    " order_ts: {sql: \"'2024-01-01T10:00:00Z'\"}, sku: {value: S}, unit_price: {value: 1.5}}\n" + DEFAULTS
)


@pytest.mark.parametrize(
    ("profile", "key", "message"),
    [
        (GOOD_PROFILE.replace("order_id: Ref", "order_idd: Ref"), "columns.order_idd", "not a column of the orders"),
        (GOOD_PROFILE + "colums: {}\n", "colums", "unknown key"),
        (GOOD_PROFILE + "values: {state: {A: open}}\n", "values.state", "not a column of the orders"),
        (GOOD_PROFILE.replace("\"'2024-01-01T10:00:00Z'\"", '"case when then"'), "columns.order_ts", "does not parse"),
        (
            GOOD_PROFILE.replace("quantity_ordered: Qty", "quantity_ordered: Quantity"),
            "columns.quantity_ordered",
            "the file has no column 'Quantity' (it has: Ref, Qty), in orders/a.csv",
        ),
        (GOOD_PROFILE.replace("\"'2024-01-01T10:00:00Z'\"", '"\\"Placed\\""'), "columns.order_ts", "SQL fails on"),
    ],
    ids=["unknown-column", "unknown-key", "values-column", "sql-syntax", "missing-source-column", "sql-binder"],
)
def test_a_bad_profile_is_one_line_loads_nothing_and_the_files_load_once_fixed(con, tmp_path, profile, key, message):
    write(tmp_path, "_profile.yml", profile)
    write(tmp_path, "a.csv", GOOD_FILE)
    write(tmp_path, "b.csv", GOOD_FILE.replace("A", "B"))
    result = load(con, tmp_path)
    assert [(f.file, f.status, f.reject_reason) for f in result.files] == [
        ("orders/a.csv", "waiting", "profile"),
        ("orders/b.csv", "waiting", "profile"),
    ]
    line = result.files[0].message.removeprefix("waits for its profile to be fixed: ")
    assert line.startswith(f"orders/_profile.yml: {key}: ") and message in line and "\n" not in line
    assert con.sql("select count(*) from raw.orders").fetchall() == [(0,)]
    assert con.sql("select count(*) from raw.orders_quarantine").fetchall() == [(0,)]
    # The contract check is an ERROR naming the profile's error (so `scm run` exits 3).
    passed, severity, summary = checks.judge(checks.latest_load(con, ORDERS), [])
    assert (passed, severity.value) == (False, "ERROR")
    assert summary == f"2 file(s) wait for their profile: {line}"
    # Fixed, the next run reads the files it had waited on.
    write(tmp_path, "_profile.yml", GOOD_PROFILE)
    again = load(con, tmp_path, "L2", NOW.replace(hour=13))
    assert [(f.file, f.status, f.rows_loaded) for f in again.files] == [
        ("orders/a.csv", "loaded", 2),
        ("orders/b.csv", "loaded", 2),
    ]
    assert con.sql("select order_id, unit_price from raw.orders order by 1").fetchall()[0] == ("A1", Decimal("1.5"))
    assert checks.judge(checks.latest_load(con, ORDERS), []) == (
        True,
        checks.dg.AssetCheckSeverity.WARN,
        "all loaded rows meet the contract",
    )


@pytest.mark.parametrize(
    ("yaml_text", "error"),
    [
        ("format: json", "x/_profile.yml: format: 'json' is not one of csv, parquet, xlsx"),
        ("csv: {delimiter: ';;'}", "x/_profile.yml: csv.delimiter: must be one character"),
        ("csv: {decimal: ';'}", 'x/_profile.yml: csv.decimal: must be "." or ","'),
        ("csv: {decimal: ',', thousands: ','}", "x/_profile.yml: csv.thousands: cannot be the decimal mark too"),
        ("csv: {encoding: klingon}", "x/_profile.yml: csv.encoding: unknown encoding 'klingon'"),
        ("csv: {skip_rows: -1}", "x/_profile.yml: csv.skip_rows: must be a whole number of lines"),
        ('csv: {quote: "\'"}', "x/_profile.yml: csv.quote: unknown option"),
        ("sheet: 0", "x/_profile.yml: sheet: must be a sheet name or its number from 1"),
        ("columns: {sku: {value: 1, sql: x}}", "x/_profile.yml: columns.sku: must be a source column's name"),
        ("columns: {sku: {sql: '1; drop table raw.orders'}}", "x/_profile.yml: columns.sku: SQL does not parse"),
        ("defaults: {sku: S}\ncolumns: {sku: item}", "x/_profile.yml: defaults.sku: the column is mapped in columns:"),
        ("defaults: {sku: null}", "x/_profile.yml: defaults.sku: must be a constant"),
        ("columns: [sku]", "x/_profile.yml: columns: must be a mapping"),
        ("profile: nope", "x/_profile.yml: profile: no built-in profile 'nope'"),
        ("columns: {sku: [", "x/_profile.yml: not valid YAML on line 1"),
        ("- sku", "x/_profile.yml: must be a mapping of keys"),
    ],
)
def test_every_key_is_validated_with_one_line_naming_file_and_key(tmp_path, yaml_text, error):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "_profile.yml").write_text(yaml_text)
    with pytest.raises(ProfileError) as caught:
        load_profile(folder, ORDERS)
    assert str(caught.value).startswith(error)
    assert "\n" not in str(caught.value)


def test_a_profile_parses_into_its_model_and_yaml_does_not_guess_codes():
    got = parse_profile(
        {
            "format": "csv",
            "csv": {"delimiter": "\t", "decimal": ",", "thousands": " ", "encoding": "latin-1", "skip_rows": 2},
            "columns": {"order_id": "Order #", "line_number": {"value": 1}, "sku": {"sql": 'upper("Item")'}},
            "values": {"status": {"NO": "open", "1.10": None}},
            "defaults": {"warehouse_id": "MAIN"},
        },
        ORDERS,
        "t",
    )
    assert got.csv == profiles.CsvOptions("\t", ",", " ", "latin-1", 2)
    assert got.columns == {"order_id": Source("Order #"), "line_number": Constant("1"), "sku": Sql('upper("Item")')}
    assert got.values == {"status": {"NO": "open", "1.10": None}}
    assert got.defaults == {"warehouse_id": "MAIN"}
    # In a profile file, NO, off and 1.10 are codes as written, not YAML's false and 1.1.
    loaded = profiles.yaml.load("values: {status: {NO: open, off: cancelled, 1.10: open}}", Loader=profiles._Loader)
    assert list(loaded["values"]["status"]) == ["NO", "off", "1.10"]


def test_the_first_file_the_profile_does_not_fit_stops_the_folder_until_fixed(con, tmp_path, monkeypatch):
    """Files go in batches: a batch already committed stays loaded (each of its files whole); from the batch
    holding the file the profile does not fit, the folder's files wait."""
    monkeypatch.setattr("pipelines.feeds.ingest.BATCH_BYTES", 1)  # one file per batch
    write(tmp_path, "_profile.yml", GOOD_PROFILE)
    write(tmp_path, "a.csv", GOOD_FILE)
    write(tmp_path, "b.csv", GOOD_FILE.replace("Qty", "Quantity"))
    write(tmp_path, "c.csv", GOOD_FILE.replace("A", "C"))
    result = load(con, tmp_path)
    assert [(f.file, f.status, f.rows_loaded) for f in result.files] == [
        ("orders/a.csv", "loaded", 2),
        ("orders/b.csv", "waiting", 0),
        ("orders/c.csv", "waiting", 0),
    ]
    assert "columns.quantity_ordered: the file has no column 'Qty' (it has: Ref, Quantity), in orders/b.csv" in (
        result.files[2].message
    )
    assert con.sql("select distinct _source_file from raw.orders").fetchall() == [("orders/a.csv",)]
