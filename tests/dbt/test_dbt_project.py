"""The dbt project builds on generated feeds with every test passing, and its incremental facts stay
correct when a later file changes an old order line.

One small world is generated and loaded with the ingest code into a DuckDB file in a tmp dir, then
built with `dbt build` (dbt's target and logs go to the tmp dir too). The incremental test then drops
one more orders file that makes an old on-time line late and cancels another old line, loads it,
builds again (incrementally) and compares the marts with a `--full-refresh` build of the same raw data.
The same second load brings the product master of a sku an order line of the first load referred to,
so the line moves from the unknown product to its own, and a new order placed on the day the earliest
not-yet-due line is promised: the as-of date moves on to that day, and the line becomes due with no new
version of its own.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from forecasting.config import MODELS

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "dbt_project"
SEED = 11
SCALE = 0.02
DAYS = 120
# Fixed load times keep the runs reproducible; both are after the generated days (no row is "future").
FIRST_LOAD = datetime(2025, 1, 1, 6, 0)
SECOND_LOAD = FIRST_LOAD + timedelta(days=1)
ORPHAN_SKU = "SKU-LATE-MASTER"

pytestmark = pytest.mark.slow

KPIS = {
    "line_on_time_rate",
    "line_in_full_rate",
    "line_otif_rate",
    "otif_rate",
    "perfect_order_rate",
    "unit_fill_rate",
    "backorder_rate",
    "order_cycle_time_days",
    "cancellation_rate",
    "shipping_cost_per_unit",
    "return_rate_units",
    "return_value_rate",
    "return_processing_days",
    "return_to_vendor_share",
    "supplier_on_time_rate",
    "supplier_in_full_rate",
    "supplier_lead_time_days",
    "supplier_lead_time_stddev_days",
    "supplier_defect_ppm",
    "stockout_rate",
    "inventory_value",
    "inventory_turns",
    "days_inventory_outstanding",
    "dpo_days",
    "dso_days",
    "cash_to_cash_days",
    "gross_margin_rate",
    "active_customers",
    "repeat_customer_rate",
    "revenue",
    # Make: the generated world is a manufacturer too
    "schedule_adherence_rate",
    "production_attainment_rate",
    "first_pass_yield",
    "manufacturing_cycle_time_days",
    "capacity_utilisation_rate",
    "component_defect_scrap_share",
}

# Whole tables compared between the incremental and the full-refresh build, with their sort keys.
COMPARED = {
    "kpi_monthly": ["kpi", "month"],
    "fct_work_orders": ["work_order_key"],
    "fct_orders": ["order_key"],
    "fct_order_lines": ["order_line_key"],
    "kpi_fulfilment_monthly": ["month", "warehouse_key", "carrier", "channel", "category"],
    "dim_customer": ["customer_key"],
    "kpi_customers_monthly": ["month", "channel"],
}


def ingest(landing: Path, db: Path, load_id: str, now: datetime) -> None:
    from forecasting.store import ensure_tables
    from pipelines.feeds.contract import FEEDS
    from pipelines.feeds.ingest import ingest_feed

    con = duckdb.connect(str(db))
    try:
        for feed in FEEDS.values():
            result = ingest_feed(con, feed, landing, load_id, now)
            assert not result.rejected, f"{feed.name}: rejected {result.rejected}"
            assert result.total("rows_quarantined") == 0, result.first_errors[:5]
        ensure_tables(con)  # no forecast run: the planning marts build empty
    finally:
        con.close()


def dbt(db: Path, tmp: Path, *args: str) -> list:
    from dbt.cli.main import dbtRunner

    argv = [
        *args,
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target-path",
        str(tmp / "target"),
        "--log-path",
        str(tmp / "logs"),
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCM_WAREHOUSE_PATH", str(db))
        mp.chdir(tmp)
        res = dbtRunner().invoke(argv)
    results = list(getattr(res.result, "results", None) or [])
    failed = [
        f"{r.node.unique_id}: {r.status}: {(r.message or '')[:300]}"
        for r in results
        if str(r.status).lower() not in ("success", "pass", "no-op")
    ]
    message = f"dbt {' '.join(args)} failed ({res.exception}):\n" + "\n".join(failed[:30])
    assert res.success and not failed, message
    return results


def read(db: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(db))
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def snapshot(db: Path) -> dict[str, pl.DataFrame]:
    return {
        table: read(db, f"select * from marts.{table} order by {', '.join(keys)}") for table, keys in COMPARED.items()
    }


def _write_orphan_line(landing: Path) -> None:
    """An order line for a sku the product master does not hold yet (its master arrives later)."""
    from pipelines.feeds.contract import FEEDS

    template = pl.read_csv(sorted((landing / "orders").iterdir())[-1], infer_schema=False).row(0, named=True)
    template.update(order_id="SO-ORPHAN-1", line_number="1", sku=ORPHAN_SKU, customer_id="CUST-ORPHAN")
    path = landing / "orders" / "orders_zz_orphan.csv"
    pl.DataFrame([template]).select(FEEDS["orders"].column_names).write_csv(path)


def _write_late_master(landing: Path) -> None:
    from pipelines.feeds.contract import FEEDS

    template = pl.read_csv(sorted((landing / "products").iterdir())[0], infer_schema=False).row(0, named=True)
    template.update(sku=ORPHAN_SKU, product_name="Late master")
    path = landing / "products" / "products_zz_late_master.csv"
    pl.DataFrame([template]).select(FEEDS["products"].column_names).write_csv(path)


def _product_key_of_orphan(db: Path) -> str:
    return read(db, "select product_key from marts.fct_order_lines where order_id = 'SO-ORPHAN-1'").item()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """Generated feeds, loaded once and built once; the tests below share this warehouse."""
    from pipelines.demo import generate

    tmp = tmp_path_factory.mktemp("dbt_project")
    landing, db = tmp / "landing", tmp / "warehouse.duckdb"
    generate(landing, scale=SCALE, seed=SEED, days=DAYS)
    _write_orphan_line(landing)
    ingest(landing, db, "first", FIRST_LOAD)
    results = dbt(db, tmp, "build")
    return {"tmp": tmp, "landing": landing, "db": db, "results": results}


def test_build_passes_every_test(built):
    kinds = {r.node.resource_type for r in built["results"]}
    assert {"model", "test", "unit_test"} <= {str(k) for k in kinds}
    assert len([r for r in built["results"] if str(r.node.resource_type) == "unit_test"]) >= 4


def test_kpi_monthly_holds_every_kpi(built):
    kpis = read(built["db"], "select distinct kpi from marts.kpi_monthly").get_column("kpi")
    assert set(kpis) == KPIS
    zero = read(built["db"], "select count(*) as n from marts.kpi_monthly where denominator = 0").item()
    assert zero == 0


def test_every_built_mart_column_is_documented(built):
    import json

    manifest = json.loads((built["tmp"] / "target" / "manifest.json").read_text())
    documented = {
        (n["name"], column)
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model"
        for column, spec in n["columns"].items()
        if spec.get("description")
    }
    built_columns = read(
        built["db"], "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
    ).rows()
    assert len(built_columns) > 100
    assert [c for c in built_columns if c not in documented] == []


def test_orphan_keys_map_to_the_unknown_member(built):
    # (The relationships tests of the build passed with it in place.)
    assert _product_key_of_orphan(built["db"]) == "-1"


def _wrong_due_flags(db: Path) -> int:
    """Order lines whose is_due is not the due-line rule (kpi-definitions.md) on the as-of date."""
    return read(
        db,
        """
        select count(*) from marts.fct_order_lines as lines cross join intermediate.int_as_of_date as as_of
        where lines.is_due is distinct from (lines.status <> 'cancelled' and lines.promised_date <= as_of.as_of_date)
        """,
    ).item()


def test_order_lines_are_due_by_the_rule(built):
    assert _wrong_due_flags(built["db"]) == 0
    flags = read(built["db"], "select distinct is_due from marts.fct_order_lines")["is_due"]
    assert sorted(flags) == [False, True]


def _pick_coming_due_line(db: Path) -> dict:
    """The current, non-cancelled line with the earliest promised date after the as-of date (not due yet)."""
    return read(
        db,
        """
        select stg.*
        from staging.stg_orders as stg
        cross join intermediate.int_as_of_date as as_of
        where stg.status <> 'cancelled' and stg.promised_date > as_of.as_of_date
        order by stg.promised_date, stg.order_id, stg.line_number
        limit 1
        """,
    ).row(0, named=True)


def _write_order_placed_on(landing: Path, template: dict, day) -> None:
    """A new open order placed on `day`: it moves the as-of date on to that day."""
    from pipelines.feeds.contract import FEEDS

    placed = datetime.combine(day, time(9, 0))
    line = dict(
        template,
        order_id="SO-NEXT-DAY-1",
        line_number=1,
        status="open",
        order_ts=placed,
        promised_date=day + timedelta(days=3),
        quantity_shipped=None,
        shipped_ts=None,
        delivered_ts=None,
        carrier=None,
        shipping_cost=None,
        updated_at=placed,
    )
    path = landing / "orders" / "orders_zz_next_day.csv"
    pl.DataFrame([line]).select(FEEDS["orders"].column_names).write_csv(path)


def _line(frame: pl.DataFrame, key: tuple) -> pl.DataFrame:
    return frame.filter((pl.col("order_id") == key[0]) & (pl.col("line_number") == key[1]))


def _pick_old_lines(db: Path) -> pl.DataFrame:
    """Two current lines of the first full month: one on time and in full (it will turn late) in an
    OTIF order, and one delivered line of another order (it will be cancelled)."""
    return read(
        db,
        """
        with candidates as (
            select stg.*, row_number() over (order by stg.order_id, stg.line_number) as pick
            from staging.stg_orders as stg
            inner join marts.fct_order_lines as lines using (order_id, line_number)
            inner join marts.fct_orders as orders using (order_id)
            where lines.is_on_time_in_full and orders.is_on_time_in_full and orders.is_due
              and date_trunc('month', stg.promised_date) = (
                  select date_trunc('month', min(order_date)) + interval 1 month from marts.fct_orders)
        )
        select * exclude (pick) from candidates
        where pick = 1
           or pick = (select min(pick) from candidates
                      where order_id <> (select order_id from candidates where pick = 1))
        order by pick
    """,
    )


def _write_update(landing: Path, lines: pl.DataFrame) -> Path:
    from pipelines.feeds.contract import FEEDS

    late, cancelled = lines.row(0, named=True), lines.row(1, named=True)
    late.update(
        delivered_ts=datetime.combine(late["promised_date"] + timedelta(days=2), time(15, 0)),
        updated_at=late["updated_at"] + timedelta(days=30),
    )
    cancelled.update(
        status="cancelled",
        quantity_shipped=0,
        shipped_ts=None,
        delivered_ts=None,
        carrier=None,
        shipping_cost=None,
        updated_at=cancelled["updated_at"] + timedelta(days=30),
    )
    columns = FEEDS["orders"].column_names
    frame = pl.DataFrame([late, cancelled]).select(columns)
    path = landing / "orders" / "orders_zz_late_corrections.csv"
    frame.write_csv(path)
    return path


# Runs last: it changes the shared warehouse (a second load and two more builds).
def test_incremental_build_equals_full_refresh(built):
    db, tmp, landing = built["db"], built["tmp"], built["landing"]
    before = snapshot(db)
    lines = _pick_old_lines(db)
    assert lines.height == 2, "the generated data has no suitable old lines"
    late_key = (lines["order_id"][0], lines["line_number"][0])
    coming = _pick_coming_due_line(db)
    coming_key = (coming["order_id"], coming["line_number"])
    assert _line(before["fct_order_lines"], coming_key)["is_due"].to_list() == [False]

    _write_update(landing, lines)
    _write_late_master(landing)
    _write_order_placed_on(landing, coming, coming["promised_date"])
    ingest(landing, db, "second", SECOND_LOAD)
    results = dbt(db, tmp, "build")
    compiled = tmp / "target" / "compiled" / "scm" / "models" / "marts" / "core" / "fct_order_lines.sql"
    # The incremental branch of the model ran (not a silent full rebuild), with its check of stale due flags.
    assert "keys_with_new_versions" in compiled.read_text()
    assert "keys_with_stale_due" in compiled.read_text()
    assert any(r.node.name == "fct_order_lines" for r in results)
    incremental = snapshot(db)

    # The as-of date moved on to the coming line's promised date: the line is due now, from its first-load
    # version alone.
    as_of = read(db, "select as_of_date from intermediate.int_as_of_date").item()
    assert as_of == coming["promised_date"]
    line = _line(incremental["fct_order_lines"], coming_key)
    assert line.select("is_due", "_last_loaded_at").rows() == [(True, FIRST_LOAD)]
    assert _wrong_due_flags(db) == 0

    # The late delivery reached the facts and the KPIs of its (old) month.
    assert _line(incremental["fct_order_lines"], late_key)["is_on_time"].to_list() == [False]
    order = incremental["fct_orders"].filter(pl.col("order_id") == late_key[0])
    assert order["is_on_time_in_full"].to_list() == [False]
    assert not incremental["kpi_monthly"].equals(before["kpi_monthly"])
    # The line that waited for its product master now points at it.
    assert _product_key_of_orphan(db) != "-1"

    # The same raw data, rebuilt from scratch, gives the same tables.
    dbt(db, tmp, "build", "--full-refresh")
    full = snapshot(db)
    for table in COMPARED:
        assert_frame_equal(incremental[table], full[table], rel_tol=1e-12, abs_tol=1e-9, check_exact=False)


def test_the_marts_accept_exactly_the_forecasting_models():
    """The accepted `model` values of the planning marts are forecasting.config.MODELS, in one list."""
    planning = PROJECT / "models" / "marts" / "planning"
    found = {}
    for path in planning.glob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            for column in model.get("columns", []):
                for test in column.get("data_tests", column.get("tests", [])):
                    if isinstance(test, dict) and "accepted_values" in test and column["name"] == "model":
                        spec = test["accepted_values"]
                        found[model["name"]] = spec.get("arguments", spec).get("values")
    assert found and all(values == list(MODELS) for values in found.values()), found
