"""Every kind of bad input a feed can send, one case each, dropped into a landing folder beside good files.

tests/test_pipeline_run.py already proves that every rule of every feed catches a generated fault (by rule
name). This matrix is about what the person who sent the file gets back: for one example of each rule
kind the contract names, and for each way a whole file or a CSV line can be broken, the exact outcome and
the one-line message (file, row, rule, value); that the counts reconcile (rows in the file = rows read =
loaded + quarantined); that the other rows of the file and every other file still load; that a
quarantined row holds the text exactly as sent; and that the whole load (every feed) completes. The last
test drops all the cases at once into a built world and runs `scm run`'s job through Dagster.

Cases are data (CASES); each builds its file for a given load time, so "future" means the same thing at
the fixed NOW of the ingest tests and at the real time of the Dagster run.
"""

from __future__ import annotations

import io
import json
import shutil
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.feeds.contract import FEEDS, Rule
from pipelines.feeds.ingest import FeedIngestResult, ingest_feed

NOW = datetime(2024, 6, 1, 12, 0)

# A sent row: its fields by column (written comma-joined, none holds a comma or quote), or a raw line.
Sent = dict[str, str] | str


def order(**overrides: str) -> dict[str, str]:
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
    return row | overrides


def bom_row(parent: str, component: str) -> dict[str, str]:
    return {
        "parent_sku": parent,
        "component_sku": component,
        "quantity_per": "2",
        "scrap_allowance": "",
        "updated_at": "",
    }


def warehouse(**overrides: str) -> dict[str, str]:
    return {
        "warehouse_id": "W1",
        "warehouse_name": "Hamburg",
        "region": "EU",
        "country": "DE",
        "operator": "own",
        "updated_at": "2024-01-01T00:00:00Z",
    } | overrides


def stock(**overrides: str) -> dict[str, str]:
    return {
        "snapshot_date": "2024-01-02",
        "warehouse_id": "W1",
        "sku": "SKU1",
        "on_hand_qty": "10",
        "reserved_qty": "2",
    } | overrides


def delivered(**overrides: str) -> dict[str, str]:
    """An order line shipped and delivered in full."""
    return (
        order(
            status="delivered",
            quantity_shipped="2",
            shipped_ts="2024-01-02T08:00:00Z",
            delivered_ts="2024-01-03T10:00:00Z",
            carrier="DHL",
            shipping_cost="4.50",
            updated_at="2024-01-03T10:00:00Z",
        )
        | overrides
    )


def ret(**overrides: str) -> dict[str, str]:
    return {
        "return_id": "RT1",
        "order_id": "R-O1",
        "line_number": "1",
        "sku": "SKU1",
        "requested_ts": "2024-01-05T00:00:00+00:00",
        "received_ts": "",
        "quantity_returned": "1",
        "reason_code": "damaged",
        "disposition": "",
        "refund_amount": "9.99",
        "updated_at": "2024-01-05T00:00:00+00:00",
    } | overrides


# The order lines the returns case refers to: two shipped, one not shipped yet.
RETURNED_LINES = (
    "orders/orders_returned_lines.csv",
    lambda now: csv_file(
        "orders",
        [
            delivered(order_id="R-O1", quantity_ordered="3"),
            order(order_id="R-O1", line_number="2"),
            delivered(order_id="R-O2", quantity_shipped="1"),
            delivered(order_id="R-O3", quantity_shipped="1"),
        ],
    ),
)


def line(feed: str, row: dict[str, str]) -> str:
    return ",".join(row[c] for c in FEEDS[feed].column_names)


@dataclass(frozen=True)
class File:
    content: bytes
    sent: dict[int, Sent]  # data row number -> what the file holds for that row
    header: list[str] = field(default_factory=list)  # a CSV file's column names


def csv_file(feed: str, rows: list[Sent | None], header: str | None = None, encoding: str = "utf-8") -> File:
    """Rows in order; None is a blank line (no row, but it takes a number, as the reader counts)."""
    header = header if header is not None else ",".join(FEEDS[feed].column_names)
    lines = [header] + ["" if r is None else r if isinstance(r, str) else line(feed, r) for r in rows]
    sent = {n: r for n, r in enumerate(rows, start=1) if r is not None}
    return File(("\n".join(lines) + "\n").encode(encoding), sent, header.lower().split(","))


def parquet_file(frame: pl.DataFrame) -> File:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    # The values sent, as text: timestamps as the same instant in ISO-8601 UTC, the rest as polars writes them.
    try:
        text = frame.select(
            pl.col(pl.Datetime).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            pl.exclude(pl.Datetime).cast(pl.String),
        ).select(frame.columns)
    except pl.exceptions.InvalidOperationError:
        return File(buf.getvalue(), {})  # no text form: the file is refused whole
    return File(buf.getvalue(), dict(enumerate(text.to_dicts(), start=1)))


def typed_orders(rows: list[dict[str, str]]) -> pl.DataFrame:
    """Orders as an export tool writes Parquet: numbers, dates and timestamps in their own types."""
    text = pl.DataFrame(rows, schema=dict.fromkeys(FEEDS["orders"].column_names, pl.String))
    return text.with_columns(
        pl.col("line_number").cast(pl.Int64),
        pl.col("unit_price").cast(pl.Float64),
        pl.col("promised_date").str.to_date(),
        pl.col("order_ts", "updated_at").str.to_datetime(time_zone="UTC"),
        *[
            pl.col(c).replace("", None)
            for c in ("quantity_shipped", "shipped_ts", "delivered_ts", "carrier", "shipping_cost")
        ],
    )


@dataclass(frozen=True)
class Case:
    id: str
    feed: str
    name: str  # file name in the feed's folder
    build: Callable[[datetime], File]  # the file, for a load at this time
    # Quarantined rows: row number -> (first rule broken, the reason after "<feed>/<name> row <n>: ").
    quarantined: dict[int, tuple[str, str]] = field(default_factory=dict)
    reject: tuple[str, str] | None = None  # the whole file refused: (reason, message)
    extra_columns: tuple[str, ...] = ()
    # Rule kind this case is the example of (the matrix must hold one per kind the contract names).
    kind: str | None = None
    # Good files of other feeds the case refers to (path, build), dropped beside it.
    support: tuple[tuple[str, Callable[[datetime], File]], ...] = ()

    @property
    def path(self) -> str:
        return f"{self.feed}/{self.name}"


def _future(now: datetime, days: float) -> str:
    return (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


CASES = [
    # --- one example per rule kind of the contract ---------------------------------------------------
    Case(
        "rule:pattern",
        "warehouses",
        "warehouses_2024-01-02.csv",
        kind="pattern",
        build=lambda now: csv_file("warehouses", [warehouse(), warehouse(warehouse_id="W2", country="de")]),
        quarantined={
            2: ("country_iso2", "country_iso2: country must be an ISO-3166 alpha-2 code (two capital letters) (got de)")
        },
    ),
    Case(
        "rule:between",
        "orders",
        "orders_between.csv",
        kind="between",
        # The bounds themselves: 0 is out (> 0), 100,000 is in; one unit over the maximum is out.
        build=lambda now: csv_file(
            "orders",
            [
                order(),
                order(line_number="2", quantity_ordered="0"),
                order(line_number="3", quantity_ordered="100000"),
                order(line_number="4", quantity_ordered="100001"),
            ],
        ),
        quarantined={
            2: (
                "quantity_ordered_range",
                "quantity_ordered_range: quantity_ordered must be > 0 and <= 100,000 (got 0)",
            ),
            4: (
                "quantity_ordered_range",
                "quantity_ordered_range: quantity_ordered must be > 0 and <= 100,000 (got 100001)",
            ),
        },
    ),
    Case(
        "rule:in_set",
        "orders",
        "orders_in_set.csv",
        kind="in_set",
        # Values are compared as sent (after trimming blanks): another case is another value.
        build=lambda now: csv_file(
            "orders", [order(), order(line_number="2", channel="Web"), order(line_number="3", channel=" web ")]
        ),
        quarantined={
            2: ("channel_accepted", "channel_accepted: channel must be one of web, marketplace, wholesale (got Web)")
        },
    ),
    Case(
        "rule:pair_ge",
        "orders",
        "orders_pair_ge.csv",
        kind="pair_ge",
        # 23:30 at -02:00 is the next day in UTC, and the contract compares UTC dates.
        build=lambda now: csv_file(
            "orders",
            [order(), order(line_number="2", order_ts="2024-01-01T23:30:00-02:00", promised_date="2024-01-01")],
        ),
        quarantined={
            2: (
                "promised_date_ge_order_ts",
                "promised_date_ge_order_ts: promised_date must be >= "
                "order_ts (as a date) (got 2024-01-01 vs "
                "2024-01-01T23:30:00-02:00)",
            )
        },
    ),
    Case(
        "rule:null_when",
        "orders",
        "orders_null_when.csv",
        kind="null_when",
        build=lambda now: csv_file("orders", [order(), order(line_number="2", quantity_shipped="2")]),
        quarantined={
            2: (
                "quantity_shipped_null_while_open",
                "quantity_shipped_null_while_open: quantity_shipped must be null while open (got 2 with status open)",
            )
        },
    ),
    Case(
        "rule:required_when",
        "orders",
        "orders_status_fields.csv",
        kind="required_when",
        # A status contradicting its fields: delivered with no delivered_ts, cancelled but shipped, shipped
        # with nothing shipped. A consistent delivered line loads.
        build=lambda now: csv_file(
            "orders",
            [
                delivered(),
                delivered(line_number="2", delivered_ts=""),
                order(line_number="3", status="cancelled", quantity_shipped="1", shipped_ts="2024-01-02T08:00:00Z"),
                delivered(line_number="4", status="shipped", delivered_ts="", quantity_shipped="0"),
            ],
        ),
        quarantined={
            2: (
                "delivered_ts_required_when_delivered",
                "delivered_ts_required_when_delivered: delivered_ts is required when delivered "
                "(got <null> with status delivered)",
            ),
            3: (
                "quantity_shipped_zero_when_cancelled",
                "quantity_shipped_zero_when_cancelled: quantity_shipped must be 0 (or null) when cancelled "
                "(got 1 with status cancelled); shipped_ts_null_unless_shipped: shipped_ts must be null while "
                "open or when cancelled (got 2024-01-02T08:00:00Z with status cancelled)",
            ),
            4: (
                "quantity_shipped_positive_when_shipped",
                "quantity_shipped_positive_when_shipped: quantity_shipped must be > 0 when shipped or delivered "
                "(got 0 with status shipped)",
            ),
        },
    ),
    Case(
        "rule:min_date",
        "orders",
        "orders_min_date.csv",
        kind="min_date",
        # A system's default date is refused; the floor itself loads. Delivered before it was ordered, too.
        build=lambda now: csv_file(
            "orders",
            [
                order(),
                order(line_number="2", order_ts="1970-01-01T00:00:00Z"),
                order(line_number="3", order_ts="2000-01-01T00:00:00Z", promised_date="2000-01-03"),
                delivered(line_number="4", shipped_ts="2024-01-01T11:00:00Z", delivered_ts="2023-12-31T10:00:00Z"),
            ],
        ),
        quarantined={
            2: (
                "order_ts_min_date",
                "order_ts_min_date: order_ts must be on or after 2000-01-01 (earlier is a default or a typo) "
                "(got 1970-01-01T00:00:00Z)",
            ),
            4: (
                "delivered_ts_ge_shipped_ts",
                "delivered_ts_ge_shipped_ts: delivered_ts must be >= shipped_ts (got 2023-12-31T10:00:00Z vs "
                "2024-01-01T11:00:00Z); delivered_ts_ge_order_ts: delivered_ts must be >= order_ts "
                "(got 2023-12-31T10:00:00Z vs 2024-01-01T10:00:00Z)",
            ),
        },
    ),
    Case(
        "rule:at_most_referenced",
        "returns",
        "returns_at_most_referenced.csv",
        kind="at_most_referenced",
        support=(RETURNED_LINES,),
        # Against the order lines of RETURNED_LINES: a return of 50 on a line that shipped 2 (beside a
        # sensible return of 1, which loads); a return on a line not shipped yet; a return on a line not
        # loaded (it loads); a refund at the tolerance (loads) and one cent over it.
        build=lambda now: csv_file(
            "returns",
            [
                ret(),
                ret(return_id="RT2", quantity_returned="50"),
                ret(return_id="RT3", line_number="2", refund_amount="5.00"),
                ret(return_id="RT4", order_id="R-O9", quantity_returned="5", refund_amount="100"),
                ret(return_id="RT5", order_id="R-O2", refund_amount="10.00"),
                ret(return_id="RT6", order_id="R-O3", refund_amount="10.01"),
            ],
        ),
        quarantined={
            2: (
                "quantity_returned_le_shipped",
                "quantity_returned_le_shipped: quantity_returned, with the line's other returns, must be <= the "
                "quantity shipped on the order line (none while it has not shipped) "
                "(got 50 + 1 on other rows vs quantity_shipped 2)",
            ),
            3: (
                "quantity_returned_le_shipped",
                "quantity_returned_le_shipped: quantity_returned, with the line's other returns, must be <= the "
                "quantity shipped on the order line (none while it has not shipped) "
                "(got 1 + 0 on other rows vs quantity_shipped none)",
            ),
            6: (
                "refund_amount_le_paid",
                "refund_amount_le_paid: refund_amount must be <= the order line's unit_price x quantity_returned "
                "(+ 0.01 for rounding) (got 10.01 vs unit_price 9.99 x quantity_returned 1)",
            ),
        },
    ),
    Case(
        "rule:pair_ne",
        "bill_of_materials",
        "bom_pair_ne.csv",
        kind="pair_ne",
        build=lambda now: csv_file("bill_of_materials", [bom_row("MX-A", "MX-B"), bom_row("MX-A", "MX-A")]),
        quarantined={
            2: (
                "component_sku_ne_parent_sku",
                "component_sku_ne_parent_sku: component_sku must differ from parent_sku (got MX-A vs MX-A)",
            )
        },
    ),
    Case(
        "rule:acyclic",
        "bill_of_materials",
        "bom_acyclic.csv",
        kind="acyclic",
        # MX-C -> MX-D -> MX-E -> MX-C loops (each of its rows is held back: which is wrong cannot be told);
        # MX-C -> MX-F beside it loads.
        build=lambda now: csv_file(
            "bill_of_materials",
            [bom_row("MX-C", "MX-D"), bom_row("MX-D", "MX-E"), bom_row("MX-E", "MX-C"), bom_row("MX-C", "MX-F")],
        ),
        quarantined={
            n: ("bom_cycle", f"bom_cycle: a sku must not be, through its components, its own component (got {cycle})")
            for n, cycle in (
                (1, "MX-C -> MX-D -> MX-E -> MX-C"),
                (2, "MX-D -> MX-E -> MX-C -> MX-D"),
                (3, "MX-E -> MX-C -> MX-D -> MX-E"),
            )
        },
    ),
    Case(
        "rule:not_future",
        "orders",
        "orders_not_future.csv",
        kind="not_future",
        # Just inside the tolerance loads; two days ahead does not.
        build=lambda now: csv_file(
            "orders",
            [
                order(),
                order(line_number="2", order_ts=_future(now, 0.9), promised_date=_future(now, 5)[:10]),
                order(line_number="3", order_ts=_future(now, 2), promised_date=_future(now, 5)[:10]),
            ],
        ),
        quarantined={
            3: (
                "order_ts_not_future",
                "order_ts_not_future: order_ts must not be more than 1 day in the future (got {future_2d})",
            )
        },
    ),
    Case(
        "rule:unique_key",
        "orders",
        "orders_unique_key.csv",
        kind="unique_key",
        build=lambda now: csv_file("orders", [order(), order(line_number="2"), order()]),
        quarantined={
            3: (
                "unique_key",
                "unique_key: (order_id, line_number, updated_at) must be unique within a file (repeats an earlier row)",
            )
        },
    ),
    # --- malformed CSV ------------------------------------------------------------------------------
    Case(
        "csv:unterminated_quote",
        "orders",
        "orders_quote.csv",
        # The quote opened in row 2 is never closed: the rows after it must not vanish into its value.
        build=lambda now: csv_file(
            "orders",
            [
                order(),
                line("orders", order(line_number="2", customer_id='"C2')),
                order(line_number="3"),
                order(line_number="4"),
            ],
        ),
        quarantined={2: ("malformed_row", "malformed_row: has a quote that is not closed on its line (check quoting)")},
    ),
    Case(
        "csv:field_counts_and_blank_lines",
        "orders",
        "orders_fields.csv",
        # A blank line is no row (but keeps its number); a short and a long line do not split into the header.
        build=lambda now: csv_file(
            "orders",
            [
                order(),
                None,
                line("orders", order(line_number="3")).rsplit(",", 3)[0],
                order(line_number="4"),
                line("orders", order(line_number="5")) + ",extra",
                None,
            ],
        ),
        quarantined={
            3: ("malformed_row", "malformed_row: has 15 fields, the header has 18 (check quoting and separators)"),
            5: ("malformed_row", "malformed_row: has 19 fields, the header has 18 (check quoting and separators)"),
        },
    ),
    Case(
        "csv:stray_carriage_return",
        "orders",
        "orders_cr.csv",
        build=lambda now: csv_file(
            "orders", [order(), line("orders", order(line_number="2", customer_id="C\rX")), order(line_number="3")]
        ),
        quarantined={
            2: ("malformed_row", "malformed_row: has a carriage return outside quotes (check quoting and separators)")
        },
    ),
    Case(
        "csv:byte_order_mark",
        "orders",
        "orders_bom.csv",
        # Excel's "CSV UTF-8" starts with a BOM; with a bad row the file is read row by row, BOM and all.
        build=lambda now: csv_file(
            "orders", [order(), line("orders", order(line_number="2")) + ",x"], encoding="utf-8-sig"
        ),
        quarantined={
            2: ("malformed_row", "malformed_row: has 19 fields, the header has 18 (check quoting and separators)")
        },
    ),
    Case(
        "csv:duplicate_column",
        "orders",
        "orders_dup_column.csv",
        build=lambda now: csv_file(
            "orders", [line("orders", order()) + ",DHL"], header=",".join(FEEDS["orders"].column_names) + ",Carrier"
        ),
        reject=("unreadable", "the header names column(s) more than once: carrier ('carrier', 'Carrier')"),
    ),
    # --- whole files ------------------------------------------------------------------------------------
    Case(
        "file:latin1",
        "orders",
        "orders_latin1.csv",
        build=lambda now: csv_file(
            "orders", [order(), order(line_number="2", customer_id="Caf\u00e9")], encoding="latin-1"
        ),
        reject=("encoding", "not UTF-8: byte 0xe9 on line 3 (save the file as UTF-8)"),
    ),
    Case(
        "file:utf16",
        "orders",
        "orders_utf16.csv",
        build=lambda now: csv_file("orders", [order(), order(line_number="2")], encoding="utf-16"),
        reject=("encoding", "not UTF-8: the file is UTF-16 text (save the file as UTF-8)"),
    ),
    Case(
        "file:empty",
        "orders",
        "orders_empty.csv",
        build=lambda now: File(b"", {}),
        reject=("empty", "the file is empty"),
    ),
    Case(
        "file:header_only",
        "orders",
        "orders_header_only.csv",
        build=lambda now: csv_file("orders", []),
        reject=("empty", "the file has a header but no rows"),
    ),
    Case(
        "file:missing_column",
        "orders",
        "orders_missing_column.csv",
        build=lambda now: csv_file(
            "orders",
            [",".join(v for k, v in order().items() if k != "customer_id")],
            header=",".join(c for c in FEEDS["orders"].column_names if c != "customer_id"),
        ),
        reject=("missing_columns", "missing required column(s): customer_id"),
    ),
    Case(
        "file:extra_column",
        "orders",
        "orders_extra_column.csv",
        # Kept, per row, in `_extra`, for loaded and quarantined rows alike.
        build=lambda now: csv_file(
            "orders",
            [line("orders", order()) + ",yes", line("orders", order(line_number="2", channel="fax")) + ",no"],
            header=",".join(FEEDS["orders"].column_names) + ",gift_wrap",
        ),
        quarantined={
            2: ("channel_accepted", "channel_accepted: channel must be one of web, marketplace, wholesale (got fax)")
        },
        extra_columns=("gift_wrap",),
    ),
    # --- Parquet ------------------------------------------------------------------------------------
    Case(
        "parquet:string_in_int_column",
        "orders",
        "orders_text_qty.parquet",
        build=lambda now: parquet_file(
            typed_orders([order(), order(line_number="2", quantity_ordered="two"), order(line_number="3")])
        ),
        quarantined={2: ("type:quantity_ordered", "type:quantity_ordered: quantity_ordered must be int (got two)")},
    ),
    Case(
        "parquet:float_int_column",
        "orders",
        "orders_float_qty.parquet",
        # An int column written as floats (pandas does, when the column has a missing value): 2.0 is the
        # integer 2 and loads; 2.5 is not an int.
        build=lambda now: parquet_file(
            typed_orders([order(), order(line_number="2", quantity_ordered="2.5")]).with_columns(
                pl.col("quantity_ordered").cast(pl.Float64)
            )
        ),
        quarantined={
            2: ("type:quantity_ordered", "type:quantity_ordered: quantity_ordered must be int (got 2.5)"),
        },
    ),
    Case(
        "parquet:list_column",
        "orders",
        "orders_list_column.parquet",
        build=lambda now: parquet_file(typed_orders([order()]).with_columns(tags=pl.concat_list("sku", "channel"))),
        reject=("unreadable", "column 'tags' has type List(String), which has no text form"),
    ),
    # --- values -------------------------------------------------------------------------------------
    Case(
        "value:duplicate_keys",
        "orders",
        "orders_duplicate_keys.csv",
        # A newer version of a key in the same file is fine; the same version again is not, however spelled.
        build=lambda now: csv_file(
            "orders",
            [
                order(),
                order(status="cancelled", updated_at="2024-01-02T10:00:00Z"),
                order(updated_at="2024-01-01T10:00:00+00:00"),
                order(line_number="01"),
            ],
        ),
        quarantined={
            3: (
                "unique_key",
                "unique_key: (order_id, line_number, updated_at) must be unique within a file (repeats an earlier row)",
            ),
            4: (
                "unique_key",
                "unique_key: (order_id, line_number, updated_at) must be unique within a file (repeats an earlier row)",
            ),
        },
    ),
    Case(
        "value:future_date",
        "inventory",
        "inventory_future.csv",
        # A date column: tomorrow is within the tolerance, the day after is not.
        build=lambda now: csv_file(
            "inventory", [stock(), stock(snapshot_date=_future(now, 1)[:10]), stock(snapshot_date=_future(now, 2)[:10])]
        ),
        quarantined={
            3: (
                "snapshot_date_not_future",
                "snapshot_date_not_future: snapshot_date must not be more "
                "than 1 day in the future (got {future_2d_date})",
            )
        },
    ),
    Case(
        "value:huge_quantity",
        "orders",
        "orders_huge_quantity.csv",
        # Past the plausibility bound, and past what a 64-bit integer holds.
        build=lambda now: csv_file(
            "orders",
            [
                order(),
                order(line_number="2", quantity_ordered="5000000"),
                order(line_number="3", quantity_ordered="99999999999999999999"),
            ],
        ),
        quarantined={
            2: (
                "quantity_ordered_range",
                "quantity_ordered_range: quantity_ordered must be > 0 and <= 100,000 (got 5000000)",
            ),
            3: (
                "type:quantity_ordered",
                "type:quantity_ordered: quantity_ordered must be int (got 99999999999999999999)",
            ),
        },
    ),
]


def expected_reason(case: Case, row: int, reason: str, now: datetime) -> str:
    reason = reason.format(future_2d=_future(now, 2), future_2d_date=_future(now, 2)[:10])
    return f"{case.path} row {row}: {reason}"


def test_the_matrix_has_one_case_per_rule_kind():
    kinds = set(typing.get_args(typing.get_type_hints(Rule)["kind"]))
    assert kinds == {
        "pattern",
        "between",
        "in_set",
        "pair_ge",
        "null_when",
        "required_when",
        "not_future",
        "min_date",
        "unique_key",
        "at_most_referenced",
        "pair_ne",
        "acyclic",
    }
    assert {c.kind for c in CASES if c.kind} == kinds
    used = {r.kind for f in FEEDS.values() for r in f.all_rules()}
    assert used <= kinds  # a new kind in the contract needs its case here


@pytest.fixture(scope="module")
def base_landing(tmp_path_factory) -> Path:
    """Good files of every feed the first days of a world have (masters, orders, stock)."""
    from pipelines.demo import generate

    landing = tmp_path_factory.mktemp("base") / "landing"
    generate(landing, scale=0.01, days=3, seed=3, start=date(2024, 1, 1))
    return landing


def drop(landing: Path, case: Case, now: datetime) -> File:
    """Write the case's file (and the files it refers to) into the landing folder; returns the case's file."""
    for rel, build in ((case.path, case.build), *case.support):
        path = landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(build(now).content)
    return case.build(now)


def quarantined_rows(con, feed: str, path: str) -> dict[int, dict]:
    frame = con.sql(f"select * from raw.{feed}_quarantine where _source_file = ?", params=[path]).pl()
    return {r["_row_number"]: r for r in frame.to_dicts()}


def as_stored(sent: dict[str, str]) -> dict[str, str | None]:
    return {k: (v if v != "" else None) for k, v in sent.items()}


def check_case(con, case: Case, file: File, outcomes: dict, now: datetime) -> None:
    """The outcome, message, counts and stored text of the case's file, from the load's result and the tables."""
    got = outcomes[case.path]
    (log,) = con.sql(
        "select status, rows_read, rows_loaded, rows_quarantined, reject_reason, message, extra_columns "
        "from raw.ingest_log where file = ?",
        params=[case.path],
    ).fetchall()
    loaded = {
        n
        for (n,) in con.sql(
            f"select _row_number from raw.{case.feed} where _source_file = ?", params=[case.path]
        ).fetchall()
    }
    quarantine = quarantined_rows(con, case.feed, case.path)
    if case.reject:
        assert (got.status, got.reject_reason, got.message) == ("rejected", *case.reject)
        assert log[:6] == ("rejected", 0, 0, 0, *case.reject)
        assert loaded == set() and quarantine == {}
        return
    # Every data row of the file is read, and ends loaded or quarantined (a blank line is no row).
    assert got.status == "loaded"
    assert got.rows_read == len(file.sent) == got.rows_loaded + got.rows_quarantined
    assert log == ("loaded", got.rows_read, got.rows_loaded, got.rows_quarantined, None, None, list(case.extra_columns))
    assert loaded == set(file.sent) - set(case.quarantined)
    assert loaded.isdisjoint(quarantine)
    # One line per bad row, naming the file, the row and the rule, with the value as sent.
    reasons = {n: (q["_rule"], q["_reason"]) for n, q in quarantine.items()}
    assert reasons == {n: (rule, expected_reason(case, n, text, now)) for n, (rule, text) in case.quarantined.items()}
    assert all("\n" not in reason for _, reason in reasons.values())
    # The quarantined row is what was sent: its fields, or (a line that does not split) the line itself.
    columns = FEEDS[case.feed].column_names
    for n, q in quarantine.items():
        sent = file.sent[n]
        if q["_rule"] == "malformed_row":
            assert json.loads(q["_extra"])["line"] == sent
        else:
            if isinstance(sent, str):  # a line written by hand that splits into the header's fields
                sent = dict(zip(file.header, sent.split(","), strict=True))
            assert {c: q[c] for c in columns} == as_stored({c: sent[c] for c in columns})
            extra = {c: v for c, v in sent.items() if c not in columns}
            assert (json.loads(q["_extra"]) if q["_extra"] else {}) == extra


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, base_landing, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(base_landing, landing)
    file = drop(landing, case, NOW)
    con = duckdb.connect()
    try:
        # The whole load: every feed, the case's among them, must complete.
        results: dict[str, FeedIngestResult] = {
            name: ingest_feed(con, feed, landing, "L1", NOW) for name, feed in FEEDS.items()
        }
        outcomes = {o.file: o for r in results.values() for o in r.files}
        check_case(con, case, file, outcomes, NOW)
        # The good files beside it load whole.
        others = [o for path, o in outcomes.items() if path != case.path]
        assert others and all(
            (o.status, o.rows_quarantined, o.rows_loaded) == ("loaded", 0, o.rows_read) for o in others
        ), others
        for name in FEEDS:
            [(rows,)] = con.execute(f"select count(*) from raw.{name} where _source_file <> ?", [case.path]).fetchall()
            assert rows == sum(o.rows_loaded for o in others if o.file.startswith(f"{name}/"))
        if case.extra_columns:
            extras = con.sql(
                f"select _row_number, _extra from raw.{case.feed} where _source_file = ?", params=[case.path]
            ).fetchall()
            assert extras == [(1, '{"gift_wrap":"yes"}')]
    finally:
        con.close()


@pytest.mark.slow
def test_every_case_at_once_through_dagster(world_copy):
    """All the bad files in one drop into a built world: the run (load, checks, dbt, forecast, publish)
    succeeds, and each file ends as it did above."""
    from pipelines.runner import run_everything

    landing = world_copy.data_dir / "landing"
    now = datetime.now(UTC).replace(tzinfo=None)
    files = {case.id: drop(landing, case, now) for case in CASES}
    summary = run_everything()
    assert summary.success, summary.failures
    con = duckdb.connect(str(world_copy.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        outcomes = {}
        for file, status, read, loaded, quarantined, reason, message in con.sql(
            "select file, status, rows_read, rows_loaded, rows_quarantined, reject_reason, message "
            "from raw.ingest_log where load_id = ?",
            params=[summary.run_id],
        ).fetchall():
            outcomes[file] = _Logged(file, status, read, loaded, quarantined, reason, message)
        assert {c.path for c in CASES} <= set(outcomes)
        for case in CASES:
            check_case(con, case, files[case.id], outcomes, now)
    finally:
        con.close()
    # The run published its snapshot: what readers see moved on despite the bad files.
    from pipelines import snapshot

    with snapshot.connect() as published:
        assert snapshot.info(published).run_id == summary.run_id


@dataclass(frozen=True)
class _Logged:
    """An ingest_log row in the shape of ingest.FileOutcome."""

    file: str
    status: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    reject_reason: str | None
    message: str | None
