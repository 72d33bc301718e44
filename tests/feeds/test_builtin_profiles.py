"""The built-in profiles (pipelines/feeds/profiles/) on realistic exports (tests/fixtures/profiles/).

Each fixture is mapped through its built-in profile and judged by the contract: the values the profile promises
(docs/your-data.md) are checked row by row, and a code the profile does not map is quarantined naming the code.
One slow case loads the Amazon order and returns fixtures through `ingest_feed`, with `profile: <name>` in the
folders' `_profile.yml` as a user would, builds the order facts with dbt and compares the OTIF rate with the one
worked out by hand below.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.feeds import rules
from pipelines.feeds.contract import FEEDS
from pipelines.feeds.profile import builtin_profile, load_profile
from pipelines.feeds.reader import read_feed_file

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "profiles"
PROJECT = ROOT / "dbt_project"
NOW = datetime(2024, 3, 13, 6, 0)  # the morning after the fixtures' last day


def judged(profile: str, feed: str, fixture: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows, typed; quarantined rows) of a fixture mapped through a built-in profile."""
    contract = FEEDS[feed]
    read = read_feed_file(
        (FIXTURES / fixture).read_bytes(),
        fixture,
        contract,
        f"{feed}/{fixture}",
        profile=builtin_profile(profile, contract),
    )
    assert read.malformed.height == 0
    return rules.split(rules.evaluate(read.frame, contract, NOW), contract, NOW)


def line_number(sku: str) -> int:
    """The line number both Amazon profiles derive from a sku (docs/your-data.md), computed here in Python."""
    return int(hashlib.md5(sku.encode()).hexdigest()[:7], 16) + 1


def by_key(frame: pl.DataFrame, *key: str) -> dict[tuple, dict]:
    return {tuple(row[k] for k in key): row for row in frame.iter_rows(named=True)}


def test_amazon_orders_report_maps_fulfilment_status_price_and_dates():
    good, bad = judged("amazon_orders", "orders", "amazon_all_orders.txt")
    lines = by_key(good, "order_id", "sku")
    assert len(lines) == good.height == 8

    fba = lines["112-3810476-2291401", "MUG-350-SAGE"]
    assert fba["warehouse_id"] == "WH-AMAZON-FBA"  # fulfillment-channel Amazon
    assert fba["line_number"] == line_number("MUG-350-SAGE")
    assert fba["channel"] == "marketplace" and fba["customer_id"] == "Amazon.com" and fba["ship_to_region"] == "US"
    assert fba["quantity_ordered"] == 2 and fba["unit_price"] == Decimal("15.99")  # item-price 31.98 for 2 units
    assert fba["status"] == "delivered" and fba["quantity_shipped"] == 2
    # Bought 22:30 on 1 March in Portland: 2 March in UTC, plus 5 days of Standard shipping.
    assert fba["order_ts"] == datetime(2024, 3, 2, 6, 30, 5)
    assert fba["promised_date"] == date(2024, 3, 7)
    assert fba["delivered_ts"] == fba["shipped_ts"] == fba["updated_at"] == datetime(2024, 3, 7, 20, 4, 11)

    fbm = lines["113-5529107-8830264", "SKILLET-26"]
    assert fbm["warehouse_id"] == "WH-OWN"  # fulfillment-channel Merchant
    assert fbm["status"] == "delivered" and fbm["promised_date"] == date(2024, 3, 7)

    cancelled = lines["114-0092231-4471953", "MUG-350-SAGE"]  # quantity 0 and no price, as Amazon reports it
    assert (cancelled["status"], cancelled["quantity_ordered"], cancelled["quantity_shipped"]) == ("cancelled", 1, 0)
    assert cancelled["unit_price"] == Decimal(0) and cancelled["shipped_ts"] is None

    shipped = lines["111-7740218-6603327", "TOWEL-LIN-3"]
    assert shipped["status"] == "shipped" and shipped["delivered_ts"] is None
    assert shipped["promised_date"] == date(2024, 3, 7)  # Expedited: 3 days
    assert lines["112-6618830-1907742", "SKILLET-26"]["promised_date"] == date(2024, 3, 7)  # SecondDay: 2 days
    assert lines["114-8820177-3349025", "BOWL-18"]["status"] == "open"
    assert lines["114-8820177-3349025", "BOWL-18"]["quantity_shipped"] is None

    # The pre-order's item status is no code of the profile: kept as sent, quarantined naming it.
    assert bad.height == 1 and bad["_rule"].to_list() == ["status_accepted"]
    assert "(got PendingAvailability)" in bad["_reason"][0] and bad["order_id"][0] == "111-2203956-7718210"
    assert '"item-status":"PendingAvailability"' in bad["_extra"][0]  # the source row as sent


def test_amazon_returns_report_maps_reasons_and_dispositions():
    good, bad = judged("amazon_returns", "returns", "amazon_fba_returns.txt")
    returns = {row["return_id"]: row for row in good.iter_rows(named=True)}
    expected = {  # license plate number: (reason_code, disposition), as the table in docs/your-data.md maps them
        "LPNRR384012711": ("damaged", "scrap"),  # DAMAGED_BY_CARRIER, CARRIER_DAMAGED
        "LPNRR384099204": ("defective", "return_to_vendor"),  # DEFECTIVE, DEFECTIVE
        "LPNRR383550018": ("not_as_described", "restock"),  # NOT_AS_DESCRIBED, SELLABLE
        "LPNRR383561142": ("no_longer_needed", "restock"),  # UNWANTED_ITEM, SELLABLE
        "LPNRR383670350": ("late_delivery", "refurbish"),  # MISSED_ESTIMATED_DELIVERY, CUSTOMER_DAMAGED
        "LPNRR383702976": ("other", "scrap"),  # NO_REASON_GIVEN, DAMAGED
    }
    assert {k: (r["reason_code"], r["disposition"]) for k, r in returns.items()} == expected
    first = returns["LPNRR384012711"]
    assert (first["order_id"], first["line_number"]) == ("112-3810476-2291401", line_number("MUG-350-SAGE"))
    assert first["requested_ts"] == first["received_ts"] == first["updated_at"] == datetime(2024, 3, 11, 14, 2, 51)
    assert first["quantity_returned"] == 1 and returns["LPNRR383561142"]["quantity_returned"] == 2
    assert set(good["refund_amount"]) == {Decimal(0)}  # the report has no refund

    assert bad.height == 1 and bad["_rule"].to_list() == ["reason_code_accepted"]
    assert "(got SWITCHEROO)" in bad["_reason"][0]


def test_amazon_returns_with_the_documented_override_for_amazon_order_id(tmp_path):
    folder = tmp_path / "returns"
    folder.mkdir()
    (folder / "_profile.yml").write_text(documented_blocks("The built-in profiles")["yaml"][1])
    contract = FEEDS["returns"]
    sent = (FIXTURES / "amazon_fba_returns.txt").read_text().replace("\torder-id\t", "\tamazon-order-id\t", 1)
    sent = sent.replace("\tLPNRR384012711\t", "\t\t")  # no license plate: the composite id
    read = read_feed_file(sent.encode(), "r.txt", contract, "returns/r.txt", load_profile(folder, contract))
    first = read.frame.row(0, named=True)
    assert first["order_id"] == "112-3810476-2291401"
    assert first["return_id"] == "112-3810476-2291401/MUG-350-SAGE/2024-03-11T14:02:51+00:00"


def test_amazon_returns_day_first_dates_of_some_marketplaces():
    contract = FEEDS["returns"]
    sent = (FIXTURES / "amazon_fba_returns.txt").read_text()
    for day_first in ("11-Mar-2024", "11-03-2024"):
        data = sent.replace("2024-03-11T14:02:51+00:00", day_first).encode()
        read = read_feed_file(data, "r.txt", contract, "returns/r.txt", builtin_profile("amazon_returns", contract))
        assert read.frame.row(0, named=True)["received_ts"] == "2024-03-11T00:00:00+00:00"


def test_shopify_export_takes_order_fields_from_the_first_row_of_each_order():
    good, bad = judged("shopify_orders", "orders", "shopify_orders_export.csv")
    lines = by_key(good, "order_id", "line_number")
    assert sorted(lines) == [("#1001", 1), ("#1001", 2), ("#1002", 1), ("#1003", 1)]

    mug, towel = lines["#1001", 1], lines["#1001", 2]
    # The second item's row has no dates, statuses or address: they are the order's, from its first row.
    for line in (mug, towel):
        assert line["order_ts"] == datetime(2024, 3, 1, 9, 15, 22)  # 10:15:22 +0100
        assert line["customer_id"] == "lena.vogt@example.de" and line["ship_to_region"] == "DE"
        assert line["status"] == "shipped" and line["shipped_ts"] == datetime(2024, 3, 2, 13, 3, 51)
        assert line["promised_date"] == date(2024, 3, 6) and line["updated_at"] == datetime(2024, 3, 2, 13, 3, 51)
        assert line["channel"] == "web" and line["warehouse_id"] == "WH-OWN"
    assert (mug["sku"], mug["quantity_ordered"], mug["quantity_shipped"]) == ("MUG-350-SAGE", 2, 2)
    assert mug["unit_price"] == Decimal("14.39")  # 15.99 less a discount of 3.20 on the line's 2 units
    assert towel["unit_price"] == Decimal("18.99")

    assert (lines["#1002", 1]["status"], lines["#1002", 1]["quantity_shipped"]) == ("open", None)
    cancelled = lines["#1003", 1]
    assert (cancelled["status"], cancelled["quantity_shipped"]) == ("cancelled", 0)
    assert cancelled["customer_id"] == "guest:#1003"  # no e-mail on the order
    assert cancelled["updated_at"] == datetime(2024, 3, 4, 10, 30)  # its cancellation, the latest event

    assert bad.height == 1 and bad["_rule"].to_list() == ["status_accepted"]
    assert bad["order_id"][0] == "#1004" and "(got restocked)" in bad["_reason"][0]


# The marketplace fixture by hand, as of 12 March (its latest order), each order's promised date and outcome:
#   112-3810476-2291401  FBA, 2 lines, promised 7 Mar, delivered 7 Mar       due, on time in full
#   113-5529107-8830264  FBM, promised 7 Mar, delivered 9 Mar                due, late
#   114-0092231-4471953  FBM, cancelled                                      no line to deliver: not due
#   111-7740218-6603327  FBA, Expedited, promised 7 Mar, shipped, no delivery due, not delivered
#   112-6618830-1907742  FBA, promised 7 Mar, delivered 7 Mar; 2nd item cancelled   due, on time in full
#   111-2203956-7718210  pre-order: quarantined (unknown status)             not loaded
#   114-8820177-3349025  FBM, open, promised 17 Mar                          not due yet
HAND_OTIF = 2 / 4

WAREHOUSES = """warehouse_id,warehouse_name,region,country,operator
WH-AMAZON-FBA,Amazon FBA,US,US,3pl
WH-OWN,Own warehouse,US,US,own
"""


@pytest.mark.slow
def test_marketplace_fixture_through_ingest_and_dbt_ends_in_the_hand_computed_otif(tmp_path):
    from dbt.cli.main import dbtRunner

    from pipelines.feeds.ingest import ingest_feed

    landing = tmp_path / "landing"
    for feed, profile, fixture in (
        ("orders", "amazon_orders", "amazon_all_orders.txt"),
        ("returns", "amazon_returns", "amazon_fba_returns.txt"),
    ):
        (landing / feed).mkdir(parents=True)
        (landing / feed / "_profile.yml").write_text(f"profile: {profile}\n")
        shutil.copyfile(FIXTURES / fixture, landing / feed / fixture)
    (landing / "warehouses").mkdir()
    (landing / "warehouses" / "warehouses.csv").write_text(WAREHOUSES)

    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    try:
        results = {f: ingest_feed(con, FEEDS[f], landing, "load1", NOW) for f in ("warehouses", "orders", "returns")}
    finally:
        con.close()
    counts = {
        f: (r.total("rows_read"), r.total("rows_loaded"), r.total("rows_quarantined")) for f, r in results.items()
    }
    assert counts == {"warehouses": (2, 2, 0), "orders": (9, 8, 1), "returns": (7, 6, 1)}, results

    argv = ["--quiet", "run", "--select", "+fct_orders", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT)]
    argv += ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    cwd = os.getcwd()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCM_WAREHOUSE_PATH", str(db))
        os.chdir(tmp_path)
        try:
            res = dbtRunner().invoke(argv)
        finally:
            os.chdir(cwd)
    assert res.success, res.exception

    con = duckdb.connect(str(db))  # as dbt-duckdb opened it: it keeps its connection in this process
    try:
        due, otif = con.execute(
            "select count(*), count(*) filter (where is_on_time_in_full) from marts.fct_orders where is_due"
        ).fetchall()[0]
        operators = dict(
            con.execute(
                "select l.order_id || ' ' || l.sku, w.operator from marts.fct_order_lines l "
                "join marts.dim_warehouse w using (warehouse_key) where l.sku = 'SKILLET-26'"
            ).fetchall()
        )
        # Both Amazon profiles number a line from its sku: the returns of fixture orders find their lines.
        joined = con.execute(
            "select count(*) from marts.fct_returns r join marts.fct_order_lines l using (order_line_key)"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert (due, otif / due) == (4, HAND_OTIF)
    assert operators == {"113-5529107-8830264 SKILLET-26": "own", "112-6618830-1907742 SKILLET-26": "3pl"}
    assert joined == 2  # LPNRR384012711 and LPNRR384099204; the other returns are of orders before the report


def documented_blocks(section: str) -> dict[str, list[str]]:
    """The code blocks of a section of docs/your-data.md, by language in page order: the examples the page shows
    are the ones run."""
    text = (ROOT / "docs" / "your-data.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks: dict[str, list[str]] = {}
    for lang, code in re.findall(r"```(\w+)\n(.*?)```", body, flags=re.S):
        blocks.setdefault(lang, []).append(code)
    return blocks


def test_the_documented_erp_profile_loads_the_documented_report(tmp_path):
    blocks = documented_blocks("A profile of your own")
    folder = tmp_path / "purchase_orders"
    folder.mkdir()
    (folder / "_profile.yml").write_text(blocks["yaml"][0])
    feed = FEEDS["purchase_orders"]
    profile = load_profile(folder, feed)
    read = read_feed_file(blocks["csv"][0].encode(), "po_report.csv", feed, "purchase_orders/po_report.csv", profile)
    good, bad = rules.split(rules.evaluate(read.frame, feed, NOW), feed, NOW)
    assert bad.height == 0, bad["_reason"].to_list()
    lines = by_key(good, "po_id", "line_number")
    received = lines["PO-004711", 1]
    assert received["order_date"] == date(2006, 6, 2)  # 2-Jun-06
    assert received["promised_date"] == date(2006, 6, 16)  # plus a lead time of 14 days
    assert (received["quantity_ordered"], received["quantity_received"]) == (1200, 1200)  # "1,200"
    assert (received["status"], received["received_date"]) == ("received", date(2006, 6, 15))
    assert received["unit_cost"] == Decimal("3.85") and received["supplier_id"] == "V-ACME"
    still_open = lines["PO-004711", 2]  # N/A where the report has no value yet
    assert still_open["status"] == "open" and still_open["received_date"] is None
    assert still_open["quantity_received"] is None and still_open["quantity_rejected"] is None
    assert lines["PO-004712", 1]["status"] == "cancelled"
    assert lines["PO-004712", 1]["promised_date"] == date(2006, 6, 26)  # 5-Jun-06 plus 21 days
    assert lines["PO-004712", 1]["updated_at"] == datetime(2006, 6, 7)


def test_the_documented_override_changes_only_what_it_names(tmp_path):
    folder = tmp_path / "orders"
    folder.mkdir()
    (folder / "_profile.yml").write_text(documented_blocks("The built-in profiles")["yaml"][0])
    feed = FEEDS["orders"]
    data = (FIXTURES / "amazon_all_orders.txt").read_bytes()
    read = read_feed_file(data, "all_orders.txt", feed, "orders/all_orders.txt", load_profile(folder, feed))
    warehouses = dict(zip(read.frame["order_id"], read.frame["warehouse_id"], strict=True))
    assert warehouses["113-5529107-8830264"] == "WH-DE-HAM"  # FBM: the folder's own warehouse
    assert warehouses["112-3810476-2291401"] == "WH-AMAZON-FBA"  # FBA: as built in
    good, bad = rules.split(rules.evaluate(read.frame, feed, NOW), feed, NOW)
    assert bad.height == 0, bad["_reason"].to_list()
    status = dict(zip(good["order_id"], good["status"], strict=True))
    assert status["111-2203956-7718210"] == "open"  # the pre-order, quarantined without the override
    assert status["112-3810476-2291401"] == "delivered"  # the built-in codes still apply
