"""Rules that compare a row with loaded rows (a return with its order line), rules conditional on a status,
the date floor, and the Great Expectations suites derived from them. Frames are built by hand; the lookup
of loaded rows runs on an in-memory DuckDB."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from pipelines.feeds import references, rules
from pipelines.feeds.contract import FEEDS, MIN_DATE
from pipelines.feeds.raw_tables import create_raw_tables
from tests.reliability.test_bad_input_matrix import order

NOW = datetime(2024, 6, 1, 12, 0)
RETURNS, ORDERS = FEEDS["returns"], FEEDS["orders"]


def ret(**overrides: str) -> dict[str, str | None]:
    row = {
        "return_id": "R1",
        "order_id": "O1",
        "line_number": "1",
        "sku": "S1",
        "requested_ts": "2024-01-05T00:00:00Z",
        "received_ts": None,
        "quantity_returned": "1",
        "reason_code": "damaged",
        "disposition": None,
        "refund_amount": "9.99",
        "updated_at": "2024-01-05T00:00:00Z",
    }
    return row | overrides


def batch(feed, rows: list[dict]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(feed.column_names, pl.String))
    return frame.with_columns(
        _source_file=pl.lit(f"{feed.name}/a.csv"),
        _row_number=pl.int_range(1, frame.height + 1, dtype=pl.Int64),
        _extra=pl.lit(None, pl.String),
    )


def lines(*rows: tuple[str, int, int | None, str]) -> pl.DataFrame:
    """Order lines as loaded: (order_id, line_number, quantity_shipped, unit_price)."""
    rows = tuple((o, n, q, Decimal(p)) for o, n, q, p in rows)
    return pl.DataFrame(
        rows,
        schema={
            "order_id": pl.String,
            "line_number": pl.Int64,
            "quantity_shipped": pl.Int64,
            "unit_price": pl.Decimal(18, 4),
        },
        orient="row",
    )


def loaded_returns(*rows: tuple[str, str, int, int]) -> pl.DataFrame:
    """Returns as loaded: (return_id, order_id, line_number, quantity_returned)."""
    frame = pl.DataFrame(
        rows,
        schema={"return_id": pl.String, "order_id": pl.String, "line_number": pl.Int64, "quantity_returned": pl.Int64},
        orient="row",
    )
    return frame.with_columns(updated_at=pl.lit(datetime(2024, 1, 2)))


def judged(feed, rows: list[dict], referenced=None) -> dict[str, list[str]]:
    """return_id (or row number) -> the rules it breaks."""
    frame = batch(feed, rows)
    broken = rules.broken_rules(frame, feed, NOW, referenced).to_list()
    ids = frame[feed.key[0]].to_list() if feed is RETURNS else list(range(1, frame.height + 1))
    return dict(zip(ids, broken, strict=True))


def test_a_return_is_at_most_what_its_order_line_shipped():
    """The issue's case: a return of 50 on a line that shipped 1; a return on a line that has not shipped.
    A return whose line is not loaded (yet) loads, as every unknown reference does."""
    got = judged(
        RETURNS,
        [
            ret(),
            ret(return_id="R2", order_id="O2", quantity_returned="50"),
            ret(return_id="R3", order_id="O3"),
            ret(return_id="R4", order_id="O-unknown", quantity_returned="50", refund_amount="999"),
        ],
        {"orders": lines(("O1", 1, 1, "9.99"), ("O2", 1, 1, "9.99"), ("O3", 1, None, "9.99"))},
    )
    assert got == {
        "R1": [],
        "R2": ["quantity_returned_le_shipped"],
        "R3": ["quantity_returned_le_shipped"],
        "R4": [],
    }


def test_the_other_returns_of_a_line_count_at_their_current_version():
    """Loaded returns of the line count with the new one; a new version of a loaded return replaces its old
    quantity (it is not counted twice); an absurd return in the same batch does not hold back a sensible
    one; two returns that fit alone but not together are both held back (which one is wrong cannot be told)."""
    orders = lines(("O1", 1, 3, "9.99"), ("O2", 1, 2, "9.99"), ("O3", 1, 3, "9.99"), ("O4", 1, 2, "9.99"))
    loaded = loaded_returns(("L1", "O1", 1, 2), ("L2", "O3", 1, 2), ("L3", "O4", 1, 1))
    got = judged(
        RETURNS,
        [
            ret(return_id="N1", quantity_returned="2"),  # 2 loaded + 2 > 3
            ret(return_id="N2", order_id="O2", quantity_returned="1"),  # fits beside the absurd N3
            ret(return_id="N3", order_id="O2", quantity_returned="40"),
            ret(return_id="L2", order_id="O3", quantity_returned="3", updated_at="2024-01-06T00:00:00Z"),
            ret(return_id="N4", order_id="O4", quantity_returned="1"),  # 1 loaded + 1 + 1 = 3 > 2
            ret(return_id="N5", order_id="O4", quantity_returned="1"),
        ],
        {"orders": orders, "returns": loaded},
    )
    assert got == {
        "N1": ["quantity_returned_le_shipped"],
        "N2": [],
        "N3": ["quantity_returned_le_shipped"],
        "L2": [],  # 3 replaces the loaded 2: 3 <= 3
        "N4": ["quantity_returned_le_shipped"],
        "N5": ["quantity_returned_le_shipped"],
    }


def test_a_refund_is_at_most_what_was_paid_for_the_units_returned():
    orders = {"orders": lines(*[(f"O{i}", 1, 5, "3.3333") for i in (1, 2, 3)])}
    got = judged(
        RETURNS,
        [
            ret(return_id="R1", quantity_returned="3", refund_amount="10.00"),  # 9.9999: a cent of rounding
            ret(return_id="R2", order_id="O2", quantity_returned="3", refund_amount="10.01"),
            ret(return_id="R3", order_id="O3", quantity_returned="1", refund_amount="9.99"),  # 3 units' price
        ],
        orders,
    )
    assert got == {"R1": [], "R2": ["refund_amount_le_paid"], "R3": ["refund_amount_le_paid"]}
    frame = batch(RETURNS, [ret(return_id="R2", quantity_returned="3", refund_amount="10.01")])
    _, bad = rules.split(rules.evaluate(frame, RETURNS, NOW, orders), RETURNS, NOW)
    assert bad["_reason"].to_list() == [
        "refund_amount_le_paid: refund_amount must be <= the order line's unit_price x quantity_returned "
        "(+ 0.01 for rounding) (got 10.01 vs unit_price 3.3333 x quantity_returned 3)"
    ]


def test_without_loaded_rows_cross_feed_rules_pass():
    assert judged(RETURNS, [ret(quantity_returned="50", refund_amount="1000")]) == {"R1": []}


SHIPPED = {"quantity_shipped": "2", "shipped_ts": "2024-01-02T08:00:00Z"}


@pytest.mark.parametrize(
    ("row", "broken"),
    [
        (order(status="delivered", **SHIPPED, delivered_ts="2024-01-03T08:00:00Z"), []),
        (order(status="delivered", **SHIPPED), ["delivered_ts_required_when_delivered"]),
        (order(status="shipped", quantity_shipped="2"), ["shipped_ts_required_when_shipped"]),
        (order(status="shipped", shipped_ts="2024-01-02T08:00:00Z"), ["quantity_shipped_required_when_shipped"]),
        (
            order(status="cancelled", quantity_shipped="1", shipped_ts="2024-01-02T08:00:00Z"),
            ["quantity_shipped_zero_when_cancelled", "shipped_ts_null_unless_shipped"],
        ),
        (order(status="cancelled", quantity_shipped="0"), []),
        (
            order(status="shipped", **SHIPPED, delivered_ts="2024-01-03T08:00:00Z"),
            ["delivered_ts_null_unless_delivered"],
        ),
        # Delivered before it was ordered, with no ship time to compare with.
        (
            order(status="delivered", quantity_shipped="2", delivered_ts="2023-12-31T08:00:00Z"),
            ["shipped_ts_required_when_shipped", "delivered_ts_ge_order_ts"],
        ),
        (order(order_ts="1970-01-01T00:00:00Z"), ["order_ts_min_date"]),
        (order(order_ts="2000-01-01T00:00:00Z", promised_date="2000-01-01"), []),
        (order(promised_date="1999-12-31"), ["promised_date_min_date", "promised_date_ge_order_ts"]),
    ],
)
def test_a_status_must_agree_with_its_fields_and_dates_with_the_calendar(row, broken):
    assert judged(ORDERS, [row]) == {1: broken}


def test_a_return_is_disposed_of_only_once_received():
    got = judged(
        RETURNS,
        [
            ret(disposition="restock"),
            ret(return_id="R2", disposition="restock", received_ts="2024-01-08T00:00:00Z"),
        ],
    )
    assert got == {"R1": ["disposition_null_until_received"], "R2": []}


def test_every_date_and_timestamp_column_has_the_floor():
    for feed in FEEDS.values():
        floored = {r.column for r in feed.all_rules() if r.kind == "min_date"}
        assert floored == {c.name for c in feed.columns if c.dtype in ("date", "ts")}, feed.name
    assert MIN_DATE.year == 2000


def test_the_order_line_compared_with_is_its_current_version_as_loaded():
    """Latest updated_at (a null one older than any), on a tie the later delivery (_file_seq, whatever the
    file's name), then the later row; only the lines the batch refers to are read."""
    con = duckdb.connect()
    create_raw_tables(con)
    rows = [
        # (order_id, updated_at, quantity_shipped, _source_file, _row_number, _file_seq)
        ("O1", "2024-01-02 00:00:00", 1, "orders/b.csv", 1, 2),
        ("O1", "2024-01-03 00:00:00", 5, "orders/a.csv", 1, 1),  # latest version wins
        ("O1", None, 9, "orders/c.csv", 1, 3),
        ("O2", "2024-01-02 00:00:00", 1, "orders/z.csv", 7, 1),
        ("O2", "2024-01-02 00:00:00", 4, "orders/2024-01-02-fixed.csv", 2, 2),  # a tie: later delivery wins
        ("O3", "2024-01-02 00:00:00", 1, "orders/a.csv", 1, 1),
        ("O3", "2024-01-02 00:00:00", 6, "orders/a.csv", 2, 1),  # same file: later row wins
        ("O4", "2024-01-02 00:00:00", 8, "orders/a.csv", 3, 1),  # not referred to
    ]
    con.executemany(
        "insert into raw.orders (order_id, line_number, updated_at, quantity_shipped, unit_price, _source_file, "
        "_row_number, _file_seq) values (?, 1, ?, ?, 1, ?, ?, ?)",
        rows,
    )
    con.execute(
        "insert into raw.returns (return_id, order_id, line_number, quantity_returned, updated_at, _row_number, "
        "_file_seq) values ('R0', 'O1', 1, 2, '2024-01-04', 1, 1), ('R0', 'O1', 1, 3, '2024-01-05', 1, 2)"
    )
    frame = batch(RETURNS, [ret(return_id=f"R{i}", order_id=o) for i, o in enumerate(("O1", "O2", "O3"), 1)])
    found = references.lookup(con, RETURNS, frame)
    shipped = dict(found["orders"].select("order_id", "quantity_shipped").iter_rows())
    assert shipped == {"O1": 5, "O2": 4, "O3": 6}
    assert found["returns"].select("return_id", "quantity_returned").rows() == [("R0", 3)]
    assert found["orders"]["unit_price"].to_list() == [Decimal(1)] * 3


def test_great_expectations_check_the_new_rules_on_loaded_rows():
    """Rows that broke the new rules, had the loader let them through: the suite fails each rule once.
    The cross-feed rules have no expectation (their limits are in another feed's rows)."""
    from pipelines.feeds.expectations import expectations_for, validate

    text = batch(
        ORDERS,
        [
            order(),
            order(line_number="2", status="delivered", **SHIPPED),
            order(line_number="3", status="cancelled", quantity_shipped="1"),
            order(line_number="4", status="open", shipped_ts="2024-01-02T08:00:00Z"),
            order(line_number="5", order_ts="1970-01-01T00:00:00Z"),
        ],
    )
    evaluated = rules.evaluate(text, ORDERS, NOW)
    loaded = evaluated.select(*[pl.col(rules.typed(c)).alias(c) for c in ORDERS.column_names], "_source_file")
    failed = {o.rule: o.unexpected_count for o in validate(loaded, ORDERS, NOW, "new-rules") if not o.success}
    assert failed == {
        "delivered_ts_required_when_delivered": 1,
        "quantity_shipped_zero_when_cancelled": 1,
        "shipped_ts_null_unless_shipped": 1,
        "order_ts_min_date": 1,
    }
    returns_suite = {name for name, _ in expectations_for(RETURNS, NOW)}
    assert "disposition_null_until_received" in returns_suite
    assert not returns_suite & {"quantity_returned_le_shipped", "refund_amount_le_paid"}


def test_returns_load_after_the_orders_they_are_checked_against():
    from pipelines.assets.ingest import ingest_assets, raw_key

    deps = {a.key.path[-1]: set(a.dependency_keys) for a in ingest_assets}
    assert deps["returns"] == {raw_key("orders")}
    assert all(not d for name, d in deps.items() if name != "returns")
