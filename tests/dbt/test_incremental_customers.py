"""The order-level incremental models (fct_orders, int_customer_orders under dim_customer,
int_customers_monthly under kpi_customers_monthly) rebuild only what a day's new versions touch, and
still equal a `--full-refresh` build row for row.

One small world is generated and loaded with two orders of their own, each alone in a month before
the world's first: SO-EARLY-1 (customer CUST-EARLY) and SO-MOVED-1 (customer CUST-MOVED). After a
first build, a second load brings the next generated day and three changes:
  - SO-EARLY-1 is cancelled: its month keeps only a cancelled line, so kpi_customers_monthly loses the
    month and CUST-EARLY has no order left (segment no_orders);
  - SO-MOVED-1 is corrected to an existing customer and into January: its month has no line left and
    CUST-MOVED drops out of dim_customer;
  - SO-BACK-1, a back-dated first order: a customer whose first order was in February gets an order
    in January, so they are new in January and a repeat customer in February.
Before the incremental build, one row each of fct_orders, int_customer_orders and
int_customers_monthly that the day does not touch is marked (its load time set far back): the
build leaves it as it was, so it was not recomputed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.dbt.test_dbt_project import dbt, ingest, read

SEED = 11
SCALE = 0.02
START = date(2024, 1, 1)
DAYS = 150  # January to May: March is a month the next day's versions leave alone
FIRST_LOAD = datetime(2025, 1, 1, 6, 0)
SECOND_LOAD = FIRST_LOAD + timedelta(days=1)
MARK = datetime(2000, 1, 1)
JANUARY, FEBRUARY, MARCH = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
EARLY_MONTH, MOVED_MONTH = date(2023, 11, 1), date(2023, 10, 1)
OWN_ORDERS = ("SO-EARLY-1", "SO-MOVED-1", "SO-BACK-1")

# The models a customer-level change reaches, and what they build on.
SELECT = ["+fct_orders", "+dim_customer", "+int_kpi_customer_monthly"]
INCREMENTAL = ("fct_orders", "int_customer_orders", "int_customers_monthly")
COMPARED = {
    "marts.fct_order_lines": ["order_line_key"],
    "marts.fct_orders": ["order_key"],
    "intermediate.int_customer_orders": ["customer_id"],
    "marts.dim_customer": ["customer_key"],
    "intermediate.int_customers_monthly": ["month", "channel"],
    "marts.kpi_customers_monthly": ["month", "channel"],
    "intermediate.int_kpi_customer_monthly": ["month", "kpi"],
}
TIMESTAMPS = ("order_ts", "shipped_ts", "delivered_ts", "updated_at")

pytestmark = pytest.mark.slow


def build(db: Path, tmp: Path, *args: str) -> list:
    return dbt(db, tmp, "build", "--select", *SELECT, "--indirect-selection", "cautious", *args)


def snapshot(db: Path) -> dict[str, pl.DataFrame]:
    return {table: read(db, f"select * from {table} order by {', '.join(keys)}") for table, keys in COMPARED.items()}


def _order_versions(landing: Path) -> pl.DataFrame:
    files = sorted((landing / "orders").glob("orders_*.csv"))
    return pl.concat([pl.read_csv(path, infer_schema=False) for path in files])


def _delivered_january_lines(landing: Path) -> list[dict]:
    """Current versions of delivered January lines, as their files spell them."""
    versions = _order_versions(landing)
    current = versions.sort("updated_at").unique(["order_id", "line_number"], keep="last")
    return (
        current.filter((pl.col("status") == "delivered") & pl.col("order_ts").str.starts_with("2024-01-"))
        .sort("order_id", "line_number")
        .head(3)
        .to_dicts()
    )


def _shifted(line: dict, days: int, **changes: str) -> dict:
    """The line with its dates moved by `days` (keeping their order) and the given fields changed."""
    out = dict(line)
    for column in TIMESTAMPS:
        if out[column]:
            moment = datetime.strptime(out[column], "%Y-%m-%dT%H:%M:%SZ") + timedelta(days=days)
            out[column] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    out["promised_date"] = str(date.fromisoformat(out["promised_date"]) + timedelta(days=days))
    out.update(changes)
    return out


def _write(landing: Path, name: str, rows: list[dict]) -> None:
    from pipelines.feeds.contract import FEEDS

    pl.DataFrame(rows).select(FEEDS["orders"].column_names).write_csv(landing / "orders" / name)


def _days_before(month: date, line: dict) -> int:
    """Days that move the line's order date into `month` (same day of the month)."""
    ordered = date.fromisoformat(line["order_ts"][:10])
    return (month.replace(day=ordered.day) - ordered).days


def _customer_first_in(db: Path, month: date, exclude: tuple[str, ...] = ()) -> str:
    return read(
        db,
        f"""
        select min(customer_id) as customer_id from intermediate.int_customer_orders
        where first_active_month = '{month}' and customer_id not in ({", ".join(f"'{c}'" for c in exclude) or "''"})
        """,
    ).item()


def _touched_by_the_next_day(db: Path) -> dict[str, set]:
    """What the generated day's versions touch (every version of each order they name): months, customers, orders."""
    own = ", ".join(f"'{o}'" for o in OWN_ORDERS)
    touched = read(
        db,
        f"""
        select distinct order_id, customer_id, cast(date_trunc('month', order_ts) as date) as month
        from staging.stg_orders__versions
        where order_id in (select order_id from staging.stg_orders__versions where _loaded_at = '{SECOND_LOAD}')
            and order_id not in ({own})
        """,
    )
    returned = read(
        db,
        f"""
        select distinct order_id from staging.stg_returns__versions
        where return_id in (select return_id from staging.stg_returns__versions where _loaded_at = '{SECOND_LOAD}')
        """,
    )
    return {
        "months": set(touched["month"]),
        "customers": set(touched["customer_id"]),
        "orders": set(touched["order_id"]) | set(returned["order_id"]),
    }


def _mark_untouched_rows(db: Path, touched: dict[str, set], customers: tuple[str, ...]) -> dict[str, str]:
    """Set the load time of one untouched row of each incremental model far back; returns their keys."""
    con = duckdb.connect(str(db))
    try:
        order_id = con.execute(
            """
            select min(order_id) from marts.fct_orders
            where date_trunc('month', order_date) = ? and is_due and order_id <> all(?)
            """,
            [MARCH, sorted(touched["orders"])],
        ).fetchone()[0]
        customer_id = con.execute(
            "select min(customer_id) from intermediate.int_customer_orders where customer_id <> all(?)",
            [sorted(touched["customers"] | set(customers))],
        ).fetchone()[0]
        con.execute("update marts.fct_orders set _last_loaded_at = ? where order_id = ?", [MARK, order_id])
        con.execute(
            "update intermediate.int_customer_orders set _last_loaded_at = ? where customer_id = ?", [MARK, customer_id]
        )
        con.execute("update intermediate.int_customers_monthly set _last_loaded_at = ? where month = ?", [MARK, MARCH])
    finally:
        con.close()
    return {"order_id": order_id, "customer_id": customer_id}


def _marked(db: Path, marked: dict[str, str]) -> list[datetime]:
    order, customer = marked["order_id"], marked["customer_id"]
    return [
        read(db, f"select _last_loaded_at from marts.fct_orders where order_id = '{order}'").item(),
        read(
            db, f"select _last_loaded_at from intermediate.int_customer_orders where customer_id = '{customer}'"
        ).item(),
        *read(db, f"select _last_loaded_at from intermediate.int_customers_monthly where month = '{MARCH}'")[
            "_last_loaded_at"
        ],
    ]


def _unmark(db: Path, marked: dict[str, str], before: dict[str, pl.DataFrame]) -> None:
    """The marked rows' load times as the first build wrote them (no change reached them since)."""
    con = duckdb.connect(str(db))
    try:
        for table, column, key in (
            ("marts.fct_orders", "order_id", marked["order_id"]),
            ("intermediate.int_customer_orders", "customer_id", marked["customer_id"]),
            ("intermediate.int_customers_monthly", "month", MARCH),
        ):
            frame = before[table].filter(pl.col(column) == key)
            con.execute(
                f"update {table} set _last_loaded_at = ? where {column} = ?", [frame["_last_loaded_at"][0], key]
            )
    finally:
        con.close()


def _all_row(frame: pl.DataFrame, month: date) -> dict:
    rows = frame.filter((pl.col("month") == month) & (pl.col("channel") == "all")).to_dicts()
    return rows[0] if rows else {}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The first build, the incremental one after the next day and the changes, and a full refresh."""
    from pipelines.demo import generate

    tmp = tmp_path_factory.mktemp("incremental_customers")
    landing, db = tmp / "landing", tmp / "warehouse.duckdb"
    generate(landing, scale=SCALE, seed=SEED, days=DAYS)
    moved, early, back = _delivered_january_lines(landing)
    moved_first = _shifted(
        moved, _days_before(MOVED_MONTH, moved), order_id="SO-MOVED-1", line_number="1", customer_id="CUST-MOVED"
    )
    early_first = _shifted(
        early, _days_before(EARLY_MONTH, early), order_id="SO-EARLY-1", line_number="1", customer_id="CUST-EARLY"
    )
    _write(landing, "orders_zz_own_orders.csv", [moved_first, early_first])
    ingest(landing, db, "first", FIRST_LOAD)
    build(db, tmp)
    first = snapshot(db)

    backdated = _customer_first_in(db, FEBRUARY)
    moved_to = _customer_first_in(db, JANUARY)
    generate(landing, scale=SCALE, seed=SEED, start=START + timedelta(days=DAYS), days=1)
    _write(
        landing,
        "orders_zz_changes.csv",
        [
            # The same line, now January's and another customer's (its own dates, later than the shifted ones).
            dict(moved, order_id="SO-MOVED-1", line_number="1", customer_id=moved_to),
            # Cancelled, in a version a month later.
            dict(
                early_first,
                status="cancelled",
                quantity_shipped="0",
                shipped_ts="",
                delivered_ts="",
                carrier="",
                shipping_cost="",
                updated_at=_shifted(early_first, 30)["updated_at"],
            ),
            dict(back, order_id="SO-BACK-1", line_number="1", customer_id=backdated),
        ],
    )
    ingest(landing, db, "second", SECOND_LOAD)
    touched = _touched_by_the_next_day(db)
    marked = _mark_untouched_rows(db, touched, (backdated, moved_to, "CUST-EARLY", "CUST-MOVED"))
    build(db, tmp)
    compiled = {
        model: next((tmp / "target" / "compiled" / "scm" / "models").rglob(f"{model}.sql")).read_text()
        for model in INCREMENTAL
    }
    marked_after = _marked(db, marked)
    _unmark(db, marked, first)
    incremental = snapshot(db)
    build(db, tmp, "--full-refresh")
    full = snapshot(db)
    return {
        "first": first,
        "incremental": incremental,
        "full": full,
        "touched": touched,
        "compiled": compiled,
        "marked_after": marked_after,
        "backdated": backdated,
        "moved_to": moved_to,
        "db": db,
        "tmp": tmp,
    }


def test_the_next_day_leaves_the_checked_months_alone(runs):
    # The hand computations below assume the generated day changes nothing in January to March.
    assert not runs["touched"]["months"] & {JANUARY, FEBRUARY, MARCH}


def test_the_incremental_branch_ran_and_left_untouched_rows_alone(runs):
    for model, sql in runs["compiled"].items():
        assert "touched_order_versions" in sql, model
    assert runs["marked_after"] and all(moment == MARK for moment in runs["marked_after"])


def test_a_back_dated_first_order_moves_the_customer_new_month(runs):
    first, now = runs["first"]["marts.kpi_customers_monthly"], runs["incremental"]["marts.kpi_customers_monthly"]
    january_before, january = _all_row(first, JANUARY), _all_row(now, JANUARY)
    february_before, february = _all_row(first, FEBRUARY), _all_row(now, FEBRUARY)
    # January: the customer is active and new there; two more orders (the back-dated one and the moved one,
    # whose new customer already bought in January).
    assert january["active_customers"] == january_before["active_customers"] + 1
    assert january["new_customers"] == january_before["new_customers"] + 1
    assert january["repeat_customers"] == january_before["repeat_customers"]
    assert january["orders"] == january_before["orders"] + 2
    # February: the same customers, one of them a repeat customer now.
    assert february["active_customers"] == february_before["active_customers"]
    assert february["new_customers"] == february_before["new_customers"] - 1
    assert february["repeat_customers"] == february_before["repeat_customers"] + 1
    customer = runs["incremental"]["intermediate.int_customer_orders"].filter(
        pl.col("customer_id") == runs["backdated"]
    )
    assert customer["first_active_month"].to_list() == [JANUARY]


def test_a_month_left_without_an_active_line_drops_out(runs):
    first, now = runs["first"]["marts.kpi_customers_monthly"], runs["incremental"]["marts.kpi_customers_monthly"]
    assert _all_row(first, EARLY_MONTH)["orders"] == 1 and _all_row(first, MOVED_MONTH)["orders"] == 1
    assert now.filter(pl.col("month").is_in([EARLY_MONTH, MOVED_MONTH])).height == 0
    # The cancelled line's month keeps an empty row underneath (its load time is the watermark's); the moved
    # line's month has no line at all.
    kept = runs["incremental"]["intermediate.int_customers_monthly"].filter(
        pl.col("month").is_in([EARLY_MONTH, MOVED_MONTH])
    )
    assert kept.select("month", "channel", "active_customers").to_dicts() == [
        {"month": EARLY_MONTH, "channel": "all", "active_customers": None}
    ]


def test_customers_follow_their_corrected_orders(runs):
    customers = runs["incremental"]["marts.dim_customer"]
    assert customers.filter(pl.col("customer_id") == "CUST-MOVED").height == 0
    early = customers.filter(pl.col("customer_id") == "CUST-EARLY").row(0, named=True)
    assert (early["order_count"], early["rfm_segment"], early["first_order_date"]) == (0, "no_orders", None)
    before = runs["first"]["marts.dim_customer"]
    for customer in (runs["moved_to"], runs["backdated"]):
        count = customers.filter(pl.col("customer_id") == customer)["order_count"].item()
        assert count == before.filter(pl.col("customer_id") == customer)["order_count"].item() + 1
    orders = runs["incremental"]["marts.fct_orders"].filter(pl.col("order_id") == "SO-MOVED-1")
    assert orders.select("customer_id", "order_date").row(0) == (runs["moved_to"], orders["order_date"][0])
    assert orders["order_date"][0].replace(day=1) == JANUARY


@pytest.mark.parametrize("table", list(COMPARED))
def test_incremental_build_equals_full_refresh(runs, table):
    assert_frame_equal(runs["incremental"][table], runs["full"][table], rel_tol=1e-12, abs_tol=1e-9, check_exact=False)


# Runs last: it builds the shared warehouse again.
def test_moving_the_as_of_date_back_and_on_equals_full_refresh(runs):
    """The as-of date moved back (the customers with a later order, the orders and lines no longer due) and on
    again (the customers with an order since, the orders and lines due again), each build equal to a full
    refresh."""
    db, tmp = runs["db"], runs["tmp"]
    as_of = MARCH + timedelta(days=14)
    due_lines = []
    for args in (["--vars", f"{{as_of_date: '{as_of}'}}"], []):
        build(db, tmp, *args)
        incremental = snapshot(db)
        build(db, tmp, *args, "--full-refresh")
        full = snapshot(db)
        for table in COMPARED:
            assert_frame_equal(incremental[table], full[table], rel_tol=1e-12, abs_tol=1e-9, check_exact=False)
        taken_on = incremental["marts.dim_customer"]["as_of_date"].unique().to_list()
        assert taken_on == ([as_of] if args else [runs["full"]["marts.dim_customer"]["as_of_date"][0]])
        due_lines.append(incremental["marts.fct_order_lines"]["is_due"].sum())
    # The lines promised after the earlier date were due, not due, and due again, with no new version.
    assert due_lines[0] < due_lines[1] == runs["full"]["marts.fct_order_lines"]["is_due"].sum()
    assert_frame_equal(full["marts.fct_orders"], runs["full"]["marts.fct_orders"])
