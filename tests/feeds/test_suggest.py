"""`scm profile suggest` on exports whose right profile is known: a European ERP's purchase orders
(semicolons, decimal commas, thousands dots, cp1252, day-first dates) and a web shop's tab-separated orders
(day-first timestamps, codes in other capitals); the drafts, once their TODOs are filled, load the files with
the right values. Plus the detectors on the shapes the fixtures do not cover."""

import gzip
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.feeds import rules
from pipelines.feeds.check import check_path
from pipelines.feeds.contract import ORDERS, PURCHASE_ORDERS
from pipelines.feeds.profile import PROFILE_FILE, load_profile
from pipelines.feeds.reader import read_feed_file
from pipelines.feeds.suggest import detect_date_format, detect_encoding, detect_number_marks, suggest_profile

FIXTURES = Path(__file__).parents[1] / "fixtures" / "suggest"
NOW = datetime(2024, 6, 1)


def _install(tmp_path: Path, fixture: str, feed: str, text: str) -> Path:
    folder = tmp_path / "landing" / feed
    folder.mkdir(parents=True)
    (folder / fixture.replace(".tsv", ".csv")).write_bytes((FIXTURES / fixture).read_bytes())
    (folder / PROFILE_FILE).write_text(text, encoding="utf-8")
    return folder


def _loaded(folder: Path, feed) -> pl.DataFrame:
    (path,) = [p for p in folder.iterdir() if p.name != PROFILE_FILE]
    read = read_feed_file(path.read_bytes(), path.name, feed, path.name, profile=load_profile(folder, feed))
    good, _ = rules.split(rules.evaluate(read.frame, feed, NOW), feed, NOW)
    return good


def test_semicolon_decimal_comma_cp1252_purchase_orders(tmp_path):
    draft = suggest_profile(FIXTURES / "erp_po_semicolon_cp1252.csv", PURCHASE_ORDERS)
    assert (draft.encoding, draft.delimiter, draft.decimal, draft.thousands) == ("cp1252", ";", ",", ".")
    assert {target: source for target, (source, _) in draft.mapping.items()} == {
        "po_id": "PO Number",
        "line_number": "Line No",
        "supplier_id": "Supplier",
        "sku": "SKU",
        "warehouse_id": "Warehouse",
        "order_date": "Order Date",
        "promised_date": "Promised Date",
        "quantity_ordered": "Qty Ordered",
        "unit_cost": "Unit Cost",
        "status": "Status",
        "received_date": "Received Date",
        "quantity_received": "Qty Received",
    }
    dates = {c.name: (c.dtype, c.date_format, c.ambiguous_days) for c in draft.columns if c.dtype == "date"}
    assert dates["Order Date"] == ("date", "%d.%m.%Y", False)
    # A code it cannot place is left for the user (unmapped, the contract quarantines it naming the code).
    assert draft.values == {
        "status": {"RECEIVED": "received", "OPEN": "open", "CANCELED": "cancelled", "PARTIAL": None}
    }
    assert draft.unmapped_required == ["updated_at"]
    lines = draft.text.splitlines()
    assert "# defaults:" in lines and "#   updated_at: ...  # TODO (ts)" in lines
    # Every value the draft sets is marked (the lines that only open a mapping set none).
    settings = [x for x in lines if x.startswith("  ") and not x.lstrip().startswith("#")]
    assert all("# GUESS" in x for x in settings if not x.split("#")[0].rstrip().endswith(":"))
    assert len(settings) > 15

    # As drafted, the profile says what it lacks; with the TODO done, the file loads with the right values.
    folder = _install(tmp_path, "erp_po_semicolon_cp1252.csv", "purchase_orders", draft.text)
    as_drafted = check_path(folder)
    assert as_drafted.exit_code == 2 and "updated_at" in as_drafted.feeds[0].profile_error
    done = draft.text.replace("# defaults:", "defaults:").replace(
        "#   updated_at: ...", '  updated_at: "2024-06-01T00:00:00Z"'
    )
    (folder / PROFILE_FILE).write_text(done, encoding="utf-8")
    report = check_path(folder, now=NOW)
    assert report.exit_code == 1
    (checked,) = report.feeds[0].files
    assert (checked.rows_loaded, checked.rows_quarantined) == (4, 1)
    (rule,) = checked.quarantined_by_rule
    assert (rule.rule, rule.first_rows[0]["row"], rule.first_rows[0]["sent"]["Status"]) == (
        "status_accepted",
        5,
        "PARTIAL",
    )
    good = _loaded(folder, PURCHASE_ORDERS).sort("po_id", "line_number")
    first = good.row(0, named=True)
    assert first["unit_cost"] == Decimal("1234.5") and first["quantity_ordered"] == 1200
    assert (first["order_date"], first["received_date"], first["quantity_received"]) == (
        date(2024, 3, 15),
        date(2024, 3, 27),
        1200,
    )
    assert good.get_column("status").to_list() == ["received", "received", "open", "cancelled"]


def test_tab_separated_orders_with_day_first_dates(tmp_path):
    draft = suggest_profile(FIXTURES / "shop_orders_tab.tsv", ORDERS)
    assert (draft.encoding, draft.delimiter, draft.decimal, draft.thousands) == ("utf-8", "\t", ".", None)
    assert {target: source for target, (source, _) in draft.mapping.items()} == {
        "order_id": "Order ID",
        "line_number": "Line",
        "order_ts": "Order Date",
        "customer_id": "Customer",
        "channel": "Sales Channel",
        "ship_to_region": "Ship-to Region",
        "sku": "SKU",
        "warehouse_id": "Warehouse",
        "quantity_ordered": "Quantity",
        "unit_price": "Unit Price",
        "promised_date": "Promised Date",
        "status": "Status",
        "quantity_shipped": "Shipped Qty",
        "shipped_ts": "Ship Date",
        "delivered_ts": "Delivered Date",
        "updated_at": "Last Modified",
    }
    formats = {c.name: c.date_format for c in draft.columns if c.date_format}
    assert formats["Order Date"] == "%d/%m/%Y %H:%M" and formats["Promised Date"] == "%d/%m/%Y"
    assert "day-first: a value in the sample is only valid that way" in draft.text
    assert draft.unmapped_required == [] and "defaults" not in draft.text

    folder = _install(tmp_path, "shop_orders_tab.tsv", "orders", draft.text)
    report = check_path(folder, now=NOW)
    assert report.exit_code == 0, report.render()
    good = _loaded(folder, ORDERS).sort("order_id", "line_number")
    first = good.row(0, named=True)
    assert (first["order_ts"], first["promised_date"]) == (datetime(2024, 2, 13, 9, 30), date(2024, 2, 20))
    assert good.get_column("channel").to_list() == ["web", "web", "marketplace", "wholesale"]
    assert good.get_column("unit_price").to_list()[2] == Decimal("1299")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("a;b\nä;€\n".encode("utf-16"), "utf-16"),
        ("a;b\nä;x\n".encode("utf-16-le"), "utf-16"),
        ("a;b\nä;x\n".encode("utf-8-sig"), "utf-8-sig"),
        ("a;b\nä;x\n".encode(), "utf-8"),
        ("a;b\nä;–\n".encode("cp1252"), "cp1252"),
        ("a;b\nä;x\n".encode("latin-1") + b"\x81", "latin-1"),
    ],
)
def test_encodings(data, expected):
    assert detect_encoding(data)[0] == expected


def test_date_formats():
    assert detect_date_format(["2-Jun-06", "15-Jul-06"]) == ("date", "%d-%b-%y", False)
    assert detect_date_format(["12/31/2024", "01/15/2024"]) == ("date", "%m/%d/%Y", False)
    # No day above 12: both orders fit, and the draft says so.
    assert detect_date_format(["01/02/2024", "03/04/2024"]) == ("date", "%d/%m/%Y", True)
    assert detect_date_format(["2024-01-02T10:00:00Z"]) == ("ts", None, False)
    assert detect_date_format(["SKU-1"]) == (None, None, False)


def test_number_marks():
    assert detect_number_marks(["1.234,56", "12,5", "15.03.2024"]) == (",", ".")
    assert detect_number_marks(["1,234.56", "0.5"]) == (".", ",")
    assert detect_number_marks(["1 234,5", "3,25"]) == (",", " ")
    assert detect_number_marks(["1,234", "SKU-1"]) == (".", None)  # one 1,234 says nothing


def test_suggest_command_writes_a_draft_and_keeps_an_existing_file(tmp_path):
    out = tmp_path / "draft.yml"
    args = ["profile", "suggest", str(FIXTURES / "shop_orders_tab.tsv"), "--feed", "orders", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("# Draft profile for the orders feed")
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "not overwritten" in again.output
    unknown = CliRunner().invoke(main, ["profile", "suggest", str(FIXTURES / "shop_orders_tab.tsv"), "--feed", "x"])
    assert unknown.exit_code == 2 and "'x' is not a feed" in unknown.output


def test_workbooks_and_gzip_files(tmp_path):
    folder = tmp_path / "landing" / "orders"
    folder.mkdir(parents=True)
    ts = [datetime(2024, 2, 13, 9, 30), datetime(2024, 3, 1, 11, 12)]
    pl.DataFrame(
        {
            "Order ID": ["SO-1", "SO-2"],
            "Line": [1, 1],
            "Order Date": ts,
            "Customer": ["C-1", "C-2"],
            "Sales Channel": ["Web", "Marketplace"],
            "Ship-to Region": ["DACH", "DACH"],
            "SKU": ["S1", "S2"],
            "Warehouse": ["WH-1", "WH-1"],
            "Quantity": [2, 10],
            "Unit Price": [19.99, 1299.0],
            "Promised Date": [date(2024, 2, 20), date(2024, 3, 8)],
            "Status": ["Open", "Open"],
            "Last Modified": ts,
        }
    ).write_excel(folder / "export.xlsx")
    draft = suggest_profile(folder / "export.xlsx", ORDERS)
    # Typed cells: no text options to guess, and the dates are values.
    assert draft.text.splitlines()[3] == "format: xlsx" and "csv:" not in draft.text
    assert draft.mapping["order_ts"][0] == "Order Date" and draft.mapping["promised_date"][0] == "Promised Date"
    (folder / PROFILE_FILE).write_text(draft.text, encoding="utf-8")
    assert _loaded(folder, ORDERS).get_column("order_ts").to_list() == ts

    # A gzip file is sampled from its content: the same draft as the file itself.
    plain = FIXTURES / "erp_po_semicolon_cp1252.csv"
    (tmp_path / "po.csv.gz").write_bytes(gzip.compress(plain.read_bytes()))
    gz, csv = suggest_profile(tmp_path / "po.csv.gz", PURCHASE_ORDERS), suggest_profile(plain, PURCHASE_ORDERS)
    assert gz.text.splitlines()[1:] == csv.text.splitlines()[1:]


def test_erp_report_with_month_names_and_placeholders(tmp_path):
    draft = suggest_profile(FIXTURES / "erp_po_report.csv", PURCHASE_ORDERS)
    formats = {c.name: c.date_format for c in draft.columns if c.date_format}
    assert formats == {"Order Date": "%d-%b-%y", "Promised Date": "%d-%b-%y", "Received Date": "%d-%b-%y"}
    # `N/A` is no value: the columns holding it are still dates and numbers, and the draft maps it to null.
    types = {c.name: c.dtype for c in draft.columns}
    assert (types["Received Date"], types["Qty Received"]) == ("date", "int")
    assert '    "N/A": null  # GUESS: written for a missing value' in draft.text.splitlines()
    done = draft.text.replace("# defaults:", "defaults:").replace(
        "#   updated_at: ...", '  updated_at: "2006-09-01T00:00:00Z"'
    )
    folder = _install(tmp_path, "erp_po_report.csv", "purchase_orders", done)
    assert check_path(folder, now=NOW).exit_code == 0
    good = _loaded(folder, PURCHASE_ORDERS).sort("po_id", "line_number")
    assert good.get_column("order_date").to_list()[0] == date(2006, 6, 2)
    assert good.get_column("received_date").to_list() == [date(2006, 6, 14), date(2006, 6, 19), None, None]
    assert good.get_column("quantity_received").to_list() == [100, 18, None, None]


def test_a_file_a_built_in_profile_reads_is_pointed_to_it():
    from pipelines.feeds.contract import RETURNS

    exports = FIXTURES.parent / "profiles"
    assert suggest_profile(exports / "amazon_all_orders.txt", ORDERS).builtins == ["amazon_orders"]
    assert suggest_profile(exports / "shopify_orders_export.csv", ORDERS).builtins == ["shopify_orders"]
    returns = suggest_profile(exports / "amazon_fba_returns.txt", RETURNS)
    assert returns.builtins == ["amazon_returns"] and "`profile: amazon_returns` alone" in returns.text
    assert suggest_profile(FIXTURES / "shop_orders_tab.tsv", ORDERS).builtins == []
