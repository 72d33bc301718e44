"""The reference KPIs on a tiny hand-written landing directory, every expected value worked out by hand.

The world (all times UTC unless an offset is written):

orders (current lines; as-of date = latest order_ts date = 2024-02-05)
  O1 2024-01-05 10:00 C1  1: A 2@30 promised 01-08, shipped 2 01-06 09:00, delivered 01-07 12:00 (OTIF)
                          2: B 4@10 promised 01-08, shipped 3 01-06 09:00, delivered 01-08 18:00 (short)
                          3: B 1@10 cancelled
  O2 2024-01-10 08:00 C2  1: A 1@30 promised 01-12, delivered 01-13 06:00 (late; the re-sent version wins,
                             and a stale copy in a later file with an older updated_at loses)
                          2: B 2@10 promised 01-12, delivered 01-12 10:00 (OTIF)
                          3: B 2@10 promised 01-12, shipped 1 on 01-13, not delivered (backorder)
  O5 2024-01-20 10:00 C2  1: A 1@30 promised 01-23, delivered 01-22 10:00 (OTIF)
  O3 2024-01-31 22:00-05:00 = 2024-02-01 03:00 UTC (February!) C1
                          1: A 5@25 promised 02-03; two versions with the same updated_at: the later
                             file's (delivered 02-02 12:00) wins over the earlier file's (shipped)
  O4 2024-02-05 10:00 C3  1: B 3@10 promised 02-20, open (not due)
returns: R1 on O5/1 (no_longer_needed, 1 unit, requested 01-25 00:00, received 2024-02-01 01:00+03:00 =
         01-31 22:00 UTC); R2 on O3/1 (damaged, 2 units, received in its second version 02-04 06:00+02:00).
products: A unit_cost 10, then 12 (current); B 4.
purchase orders: P1/1 S1 A recv 01-12 (promised 01-12) 100 of 100, 2 rejected; P4/1 S2 B recv 01-15
         (promised 01-12) 40 of 50; P2/1 S2 B recv 02-02 (promised 01-30) 30 of 30, 1 rejected; P3/1 open.
inventory: W1 A,B on 01-30 (10, 0), 01-31 (5, 20), 02-01 (0, 10), and 02-01 A re-sent as 3 in a later file.
make: work centers M1 (8 h a day) and M2 (4.5 h); the kit K (a product without a supplier) is made on them.
  WO1 M1 planned finish 01-10, 100 planned: finished 2024-01-10T20:00-05:00 = 01-11 01:00 UTC (late), started
      01-08 08:00, 90 good, 10 scrapped component_defect of A (S1's), 20.5 h
  WO2 M2 planned finish 01-31, 50 planned: first released, re-sent completed: finished 2024-02-01T02:00+03:00 =
      01-31 23:00 UTC (on schedule, January), started 01-29 09:00, 48 good, 2 scrapped (machine), 12 h
  WO3 cancelled (planned finish 02-02); WO4 in progress (planned finish 02-04, 40 planned); WO5 planned to
      finish 02-09 (after the as-of date); WO6 M1 planned finish 02-03, 25 planned: started 02-01 06:00,
      finished 02-02 18:00, 25 good, 3 scrapped component_defect of B (S2's), 7.5 h
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from tests.reference.kpis import current, kpi_monthly, load_current, parse_ts, production_defect_units

JAN, FEB = date(2024, 1, 1), date(2024, 2, 1)

ORDER_COLS = (
    "order_id,line_number,order_ts,customer_id,channel,ship_to_region,sku,warehouse_id,quantity_ordered,"
    "unit_price,promised_date,status,quantity_shipped,shipped_ts,delivered_ts,carrier,shipping_cost,updated_at"
)


def order(oid, ln, ts, cust, sku, qo, price, promised, status, qs="", shipped="", delivered="", cost="", upd=""):
    return ",".join(
        str(v)
        for v in (
            oid,
            ln,
            ts,
            cust,
            "web",
            "EU",
            sku,
            "W1",
            qo,
            price,
            promised,
            status,
            qs,
            shipped,
            delivered,
            "DHL" if shipped else "",
            cost,
            upd or ts,
        )
    )


WORK_ORDER_COLS = (
    "work_order_id,sku,work_center_id,warehouse_id,planned_start_date,planned_finish_date,quantity_planned,status,"
    "actual_start_ts,actual_finish_ts,quantity_produced,quantity_scrapped,labor_hours,scrap_reason,"
    "defect_component_sku,updated_at"
)

FILES = {
    "products/products_2024-01-01.csv": [
        "sku,product_name,category,subcategory,unit_cost,list_price,primary_supplier_id,updated_at",
        "A,Alpha,Cat,,10.00,40,S1,2024-01-01T00:00:00Z",
        "B,Beta,Cat,,4.00,12,S2,2024-01-01T00:00:00Z",
    ],
    "products/products_2024-01-15.csv": [
        "sku,product_name,category,subcategory,unit_cost,list_price,primary_supplier_id,updated_at",
        "A,Alpha,Cat,,12.00,40,S1,2024-01-15T00:00:00Z",
        "K,Kit,Kits,,20.00,60,,2024-01-15T00:00:00Z",
    ],
    "suppliers/suppliers.csv": [
        "supplier_id,supplier_name,country,payment_terms_days,contracted_lead_time_days,updated_at",
        "S1,One,DE,30,10,2024-01-01T00:00:00Z",
        "S2,Two,PL,60,12,2024-01-01T00:00:00Z",
    ],
    "orders/orders_2024-01-10.csv": [
        ORDER_COLS,
        order(
            "O1",
            1,
            "2024-01-05T10:00:00Z",
            "C1",
            "A",
            2,
            "30.00",
            "2024-01-08",
            "delivered",
            2,
            "2024-01-06T09:00:00Z",
            "2024-01-07T12:00:00Z",
            "5.00",
            "2024-01-07T12:00:00Z",
        ),
        order(
            "O1",
            2,
            "2024-01-05T10:00:00Z",
            "C1",
            "B",
            4,
            "10.00",
            "2024-01-08",
            "delivered",
            3,
            "2024-01-06T09:00:00Z",
            "2024-01-08T18:00:00Z",
            "3.00",
            "2024-01-08T18:00:00Z",
        ),
        order(
            "O1",
            3,
            "2024-01-05T10:00:00Z",
            "C1",
            "B",
            1,
            "10.00",
            "2024-01-08",
            "cancelled",
            upd="2024-01-05T11:00:00Z",
        ),
        # O2/1 first arrives open
        order("O2", 1, "2024-01-10T08:00:00Z", "C2", "A", 1, "30.00", "2024-01-12", "open"),
        order(
            "O2",
            2,
            "2024-01-10T08:00:00Z",
            "C2",
            "B",
            2,
            "10.00",
            "2024-01-12",
            "delivered",
            2,
            "2024-01-11T10:00:00Z",
            "2024-01-12T10:00:00Z",
            "2.00",
            "2024-01-12T10:00:00Z",
        ),
        order(
            "O2",
            3,
            "2024-01-10T08:00:00Z",
            "C2",
            "B",
            2,
            "10.00",
            "2024-01-12",
            "shipped",
            1,
            "2024-01-13T08:00:00Z",
            "",
            "1.50",
            "2024-01-13T08:00:00Z",
        ),
        order(
            "O5",
            1,
            "2024-01-20T10:00:00Z",
            "C2",
            "A",
            1,
            "30.00",
            "2024-01-23",
            "delivered",
            1,
            "2024-01-21T10:00:00Z",
            "2024-01-22T10:00:00Z",
            "1.00",
            "2024-01-22T10:00:00Z",
        ),
        # O3/1: the earlier file's version at the same updated_at as the later file's
        order(
            "O3",
            1,
            "2024-01-31T22:00:00-05:00",
            "C1",
            "A",
            5,
            "25.00",
            "2024-02-03",
            "shipped",
            5,
            "2024-02-01T12:00:00Z",
            "",
            "4.00",
            "2024-02-02T12:00:00Z",
        ),
    ],
    "orders/orders_2024-01-20.csv": [
        ORDER_COLS,
        order(
            "O2",
            1,
            "2024-01-10T08:00:00Z",
            "C2",
            "A",
            1,
            "30.00",
            "2024-01-12",
            "delivered",
            1,
            "2024-01-11T10:00:00Z",
            "2024-01-13T06:00:00Z",
            "2.00",
            "2024-01-13T06:00:00Z",
        ),
        order(
            "O3",
            1,
            "2024-01-31T22:00:00-05:00",
            "C1",
            "A",
            5,
            "25.00",
            "2024-02-03",
            "delivered",
            5,
            "2024-02-01T12:00:00Z",
            "2024-02-02T12:00:00Z",
            "4.00",
            "2024-02-02T12:00:00Z",
        ),
        order("O4", 1, "2024-02-05 10:00:00", "C3", "B", 3, "10.00", "2024-02-20", "open"),
    ],
    "orders/orders_2024-01-30.csv": [
        ORDER_COLS,
        # stale: a later file, but an older updated_at than the delivered version
        order(
            "O2",
            1,
            "2024-01-10T08:00:00Z",
            "C2",
            "A",
            1,
            "30.00",
            "2024-01-12",
            "shipped",
            1,
            "2024-01-11T10:00:00Z",
            "",
            "2.00",
            "2024-01-11T10:00:00Z",
        ),
    ],
    "returns/returns_1.csv": [
        "return_id,order_id,line_number,sku,requested_ts,received_ts,quantity_returned,reason_code,disposition,"
        "refund_amount,updated_at",
        "R1,O5,1,A,2024-01-25T00:00:00Z,2024-02-01T01:00:00+03:00,1,no_longer_needed,restock,30.00,"
        "2024-01-31T22:00:00Z",
        "R2,O3,1,A,2024-02-03T00:00:00Z,,2,damaged,,50.00,2024-02-03T00:00:00Z",
    ],
    "returns/returns_2.csv": [
        "return_id,order_id,line_number,sku,requested_ts,received_ts,quantity_returned,reason_code,disposition,"
        "refund_amount,updated_at",
        "R2,O3,1,A,2024-02-03T00:00:00Z,2024-02-04T06:00:00+02:00,2,damaged,return_to_vendor,50.00,"
        "2024-02-04T04:00:00Z",
    ],
    "purchase_orders/po_1.csv": [
        "po_id,line_number,supplier_id,sku,warehouse_id,order_date,promised_date,quantity_ordered,unit_cost,status,"
        "received_date,quantity_received,quantity_rejected,updated_at",
        "P1,1,S1,A,W1,2024-01-02,2024-01-12,100,9.50,received,2024-01-12,100,2,2024-01-12T08:00:00Z",
        "P4,1,S2,B,W1,2024-01-02,2024-01-12,50,3.50,received,2024-01-15,40,0,2024-01-15T08:00:00Z",
        "P2,1,S2,B,W1,2024-01-20,2024-01-30,30,3.50,open,,,,2024-01-20T08:00:00Z",
        "P3,1,S2,A,W1,2024-02-01,2024-02-10,10,9.50,open,,,,2024-02-01T08:00:00Z",
    ],
    "purchase_orders/po_2.csv": [
        "po_id,line_number,supplier_id,sku,warehouse_id,order_date,promised_date,quantity_ordered,unit_cost,status,"
        "received_date,quantity_received,quantity_rejected,updated_at",
        "P2,1,S2,B,W1,2024-01-20,2024-01-30,30,3.50,received,2024-02-02,30,1,2024-02-02T08:00:00Z",
    ],
    "inventory/inventory_2024-01-31.csv": [
        "snapshot_date,warehouse_id,sku,on_hand_qty,reserved_qty",
        "2024-01-30,W1,A,10,0",
        "2024-01-30,W1,B,0,0",
        "2024-01-31,W1,A,5,1",
        "2024-01-31,W1,B,20,0",
        "2024-02-01,W1,A,0,0",
        "2024-02-01,W1,B,10,2",
    ],
    "inventory/inventory_2024-02-02.csv": [
        "snapshot_date,warehouse_id,sku,on_hand_qty,reserved_qty",
        "2024-02-01,W1,A,3,0",
    ],
    "work_centers/work_centers.csv": [
        "work_center_id,work_center_name,warehouse_id,capacity_hours_per_day,updated_at",
        "M1,Mixing,W1,8,",
        "M2,Packing,W1,4.5,",
    ],
    "work_orders/work_orders_2024-01-20.csv": [
        WORK_ORDER_COLS,
        "WO1,K,M1,W1,2024-01-08,2024-01-10,100,completed,2024-01-08T08:00:00Z,2024-01-10T20:00:00-05:00,90,10,20.5,"
        "component_defect,A,2024-01-11T01:00:00Z",
        "WO2,K,M2,W1,2024-01-29,2024-01-31,50,released,,,,,,,,2024-01-20T00:00:00Z",
    ],
    "work_orders/work_orders_2024-02-05.csv": [
        WORK_ORDER_COLS,
        "WO2,K,M2,W1,2024-01-29,2024-01-31,50,completed,2024-01-29T09:00:00Z,2024-02-01T02:00:00+03:00,48,2,12,"
        "machine,,2024-02-01T00:00:00Z",
        "WO3,K,M1,W1,2024-02-01,2024-02-02,30,cancelled,,,,,,,,2024-02-01T00:00:00Z",
        "WO4,K,M1,W1,2024-02-03,2024-02-04,40,in_progress,2024-02-03T08:00:00Z,,,,,,,2024-02-03T08:00:00Z",
        "WO5,K,M2,W1,2024-02-05,2024-02-09,20,planned,,,,,,,,2024-02-04T00:00:00Z",
        "WO6,K,M1,W1,2024-02-01,2024-02-03,25,completed,2024-02-01T06:00:00Z,2024-02-02T18:00:00Z,25,3,7.5,"
        "component_defect,B,2024-02-02T18:00:00Z",
    ],
}

# (kpi, month) -> (value, numerator, denominator); None = null.
TURNS_JAN = 72 * 365 / 31 / 130
TURNS_FEB = 60 * 365 / 29 / 76
EXPECTED = {
    # due lines: Jan O1/1, O1/2, O2/1, O2/2, O2/3, O5/1; Feb O3/1 (O4/1 promised after the as-of date)
    ("line_on_time_rate", JAN): (4 / 6, 4, 6),
    ("line_on_time_rate", FEB): (1.0, 1, 1),
    ("line_in_full_rate", JAN): (4 / 6, 4, 6),
    ("line_in_full_rate", FEB): (1.0, 1, 1),
    ("line_otif_rate", JAN): (3 / 6, 3, 6),
    ("line_otif_rate", FEB): (1.0, 1, 1),
    ("unit_fill_rate", JAN): (10 / 12, 10, 12),
    ("unit_fill_rate", FEB): (1.0, 5, 5),
    ("backorder_rate", JAN): (1 / 6, 1, 6),
    ("backorder_rate", FEB): (0.0, 0, 1),
    # due orders: Jan O1 (short line), O2 (late line), O5 (OTIF); Feb O3 (OTIF, damaged return)
    ("otif_rate", JAN): (1 / 3, 1, 3),
    ("otif_rate", FEB): (1.0, 1, 1),
    ("perfect_order_rate", JAN): (1 / 3, 1, 3),
    ("perfect_order_rate", FEB): (0.0, 0, 1),
    # O1: 01-08 18:00 - 01-05 10:00 = 3 1/3 d; O5: 2 d; O2 not fully delivered; O3: 1.375 d
    ("order_cycle_time_days", JAN): ((3 + 1 / 3 + 2) / 2, 3 + 1 / 3 + 2, 2),
    ("order_cycle_time_days", FEB): (1.375, 1.375, 1),
    ("cancellation_rate", JAN): (1 / 7, 1, 7),
    ("cancellation_rate", FEB): (0.0, 0, 2),
    ("shipping_cost_per_unit", JAN): (14.5 / 10, 14.5, 10),
    ("shipping_cost_per_unit", FEB): (4 / 5, 4, 5),
    ("return_rate_units", JAN): (1 / 10, 1, 10),
    ("return_rate_units", FEB): (2 / 5, 2, 5),
    ("return_value_rate", JAN): (30 / 180, 30, 180),
    ("return_value_rate", FEB): (50 / 125, 50, 125),
    # R1: 01-31 22:00 - 01-25 00:00 = 6 22/24 d; R2: 02-04 04:00 - 02-03 00:00 = 1 4/24 d
    ("return_processing_days", JAN): (6 + 22 / 24, 6 + 22 / 24, 1),
    ("return_processing_days", FEB): (1 + 4 / 24, 1 + 4 / 24, 1),
    ("return_to_vendor_share", JAN): (0.0, 0, 1),
    ("return_to_vendor_share", FEB): (1.0, 1, 1),
    ("supplier_on_time_rate", JAN): (0.5, 1, 2),
    ("supplier_on_time_rate", FEB): (0.0, 0, 1),
    ("supplier_in_full_rate", JAN): (0.5, 1, 2),
    ("supplier_in_full_rate", FEB): (1.0, 1, 1),
    ("supplier_lead_time_days", JAN): (11.5, 23, 2),
    ("supplier_lead_time_days", FEB): (13.0, 13, 1),
    # sample stddev of (10, 13); February has one received line: no row (n - 1 = 0)
    ("supplier_lead_time_stddev_days", JAN): (math.sqrt(4.5), 23, None),
    ("supplier_defect_ppm", JAN): (2 / 140 * 1e6, 2, 140),
    ("supplier_defect_ppm", FEB): (1 / 30 * 1e6, 1, 30),
    # weights at the PO line's own cost: P1 100 x 9.50 (S1, 30 d), P4 40 x 3.50 (S2, 60 d); P2 30 x 3.50 (S2)
    ("dpo_days", JAN): ((30 * 950 + 60 * 140) / 1090, 30 * 950 + 60 * 140, 1090),
    ("dpo_days", FEB): (60.0, 60 * 105, 105),
    ("stockout_rate", JAN): (1 / 4, 1, 4),
    ("stockout_rate", FEB): (0.0, 0, 2),
    # stock value: 01-30 10x12 = 120, 01-31 5x12 + 20x4 = 140, 02-01 3x12 + 10x4 = 76
    ("inventory_value", JAN): (130.0, 260, 2),
    ("inventory_value", FEB): (76.0, 76, 1),
    # COGS at current cost: Jan A 4 units x 12 + B 6 units x 4 = 72; Feb A 5 x 12 = 60
    ("inventory_turns", JAN): (TURNS_JAN, 72 * 365 / 31, 130),
    ("inventory_turns", FEB): (TURNS_FEB, 60 * 365 / 29, 76),
    ("days_inventory_outstanding", JAN): (365 / TURNS_JAN, 365, TURNS_JAN),
    ("days_inventory_outstanding", FEB): (365 / TURNS_FEB, 365, TURNS_FEB),
    # cash-to-cash = DIO + DSO (0) - DPO
    ("dso_days", JAN): (0.0, None, None),
    ("dso_days", FEB): (0.0, None, None),
    ("cash_to_cash_days", JAN): (365 / TURNS_JAN - (30 * 950 + 60 * 140) / 1090, None, None),
    ("cash_to_cash_days", FEB): (365 / TURNS_FEB - 60.0, None, None),
    ("gross_margin_rate", JAN): ((180 - 72) / 180, 180 - 72, 180),
    ("gross_margin_rate", FEB): ((125 - 60) / 125, 125 - 60, 125),
    ("active_customers", JAN): (2.0, 2, None),
    ("active_customers", FEB): (2.0, 2, None),
    ("repeat_customer_rate", JAN): (0.0, 0, 2),
    ("repeat_customer_rate", FEB): (0.5, 1, 2),
    ("revenue", JAN): (200.0, 200, None),
    ("revenue", FEB): (155.0, 155, None),
    # due work orders: Jan WO1 (late), WO2 (on schedule); Feb WO4 (in progress), WO6 (on schedule)
    ("schedule_adherence_rate", JAN): (0.5, 1, 2),
    ("schedule_adherence_rate", FEB): (0.5, 1, 2),
    ("production_attainment_rate", JAN): (138 / 150, 138, 150),
    ("production_attainment_rate", FEB): (25 / 65, 25, 65),
    # completed by finish month: Jan WO1, WO2; Feb WO6
    ("first_pass_yield", JAN): (138 / 150, 138, 150),
    ("first_pass_yield", FEB): (25 / 28, 25, 28),
    # WO1 01-08 08:00 -> 01-11 01:00 = 65 h; WO2 01-29 09:00 -> 01-31 23:00 = 62 h; WO6 36 h
    ("manufacturing_cycle_time_days", JAN): (127 / 48, 127 / 24, 2),
    ("manufacturing_cycle_time_days", FEB): (1.5, 1.5, 1),
    # labor over (8 + 4.5) h a day x days in the month
    ("capacity_utilisation_rate", JAN): (32.5 / 387.5, 32.5, 387.5),
    ("capacity_utilisation_rate", FEB): (7.5 / 362.5, 7.5, 362.5),
    ("component_defect_scrap_share", JAN): (10 / 12, 10, 12),
    ("component_defect_scrap_share", FEB): (1.0, 3, 3),
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    for rel, lines in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def got(landing) -> dict[tuple[str, date], tuple[float | None, float | None, float | None]]:
    frame = kpi_monthly(landing)
    assert frame.columns == ["month", "kpi", "value", "numerator", "denominator"]
    assert frame.select(pl.struct("kpi", "month").is_unique().all()).item()
    return {(r["kpi"], r["month"]): (r["value"], r["numerator"], r["denominator"]) for r in frame.iter_rows(named=True)}


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-12 * max(1.0, abs(b))


def test_every_expected_value(got):
    wrong = {
        k: (got.get(k), v)
        for k, v in EXPECTED.items()
        if k not in got or not all(_close(g, e) for g, e in zip(got[k], v, strict=True))
    }
    assert not wrong, "\n".join(f"{k}: got {g}, expected {e}" for k, (g, e) in wrong.items())


def test_no_unexpected_rows(got):
    assert set(got) == set(EXPECTED)


def test_production_defect_units(landing):
    # WO1's 10 units of A (S1) and WO6's 3 of B (S2) are in the 90 days ending on the as-of date 02-05;
    # with the as-of date 01-31 WO6 has not finished yet.
    feeds = load_current(landing)
    assert production_defect_units(feeds).rows() == [("S1", 10), ("S2", 3)]
    assert production_defect_units(feeds, as_of=date(2024, 1, 31)).rows() == [("S1", 10)]


def test_dso_days_can_be_given(landing):
    frame = kpi_monthly(landing, dso_days=10).filter(pl.col("kpi") == "cash_to_cash_days")
    assert frame.get_column("value").to_list() == pytest.approx(
        [365 / TURNS_JAN + 10 - (30 * 950 + 60 * 140) / 1090, 365 / TURNS_FEB + 10 - 60.0]
    )


def test_as_of_date_can_be_given(landing):
    # With as-of 2024-01-10 only O1 is due (O2 promised 01-12); February has no due line, so no row.
    frame = kpi_monthly(landing, as_of=date(2024, 1, 10)).filter(pl.col("kpi") == "line_on_time_rate")
    assert frame.rows() == [(JAN, "line_on_time_rate", 1.0, 2.0, 2.0)]


def test_offsets_convert_to_utc():
    s = (
        pl.DataFrame(
            {
                "t": [
                    "2024-01-31T22:00:00-05:00",
                    "2024-02-01T01:00:00+03:00",
                    "2024-01-01 10:00:00",
                    "2024-01-01T10:00:00.25Z",
                    "2024-01-01T10:00:00+0530",
                    "2024-01-01T10:00:00+05",
                    None,
                ]
            }
        )
        .select(parse_ts(pl.col("t")))
        .to_series()
        .to_list()
    )
    assert s == [
        datetime(2024, 2, 1, 3, 0),
        datetime(2024, 1, 31, 22, 0),
        datetime(2024, 1, 1, 10, 0),
        datetime(2024, 1, 1, 10, 0, 0, 250_000),
        datetime(2024, 1, 1, 4, 30),
        datetime(2024, 1, 1, 5, 0),
        None,
    ]


def test_current_version_rules():
    versions = pl.DataFrame(
        {
            "k": ["a", "a", "a", "b", "b", "c", "c"],
            "updated_at": [
                datetime(2024, 1, 2),
                datetime(2024, 1, 3),
                datetime(2024, 1, 1),
                datetime(2024, 1, 1),
                datetime(2024, 1, 1),
                None,
                datetime(2024, 1, 1),
            ],
            "_file": [0, 0, 2, 1, 0, 1, 0],
            "_row": [0, 1, 0, 5, 9, 0, 3],
            "v": ["a-old", "a-latest", "a-stale-later-file", "b-later-file", "b-earlier-file", "c-null", "c-dated"],
        }
    )
    got = dict(current(versions, ("k",), "updated_at").select("k", "v").iter_rows())
    assert got == {"a": "a-latest", "b": "b-later-file", "c": "c-dated"}


def test_empty_landing_gives_no_rows(tmp_path):
    frame = kpi_monthly(tmp_path)
    assert frame.height == 0
    assert frame.columns == ["month", "kpi", "value", "numerator", "denominator"]
