"""What a forecasting run reads from the warehouse's marts: the as-of date and the demand history."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from .history import demand_history

# The marts a run reads (schema, table): the Dagster asset declares them as its upstream.
INPUT_TABLES = (
    ("intermediate", "int_as_of_date"),
    ("marts", "fct_order_lines"),
    ("marts", "fct_inventory_daily"),
    ("marts", "dim_warehouse"),
    ("marts", "dim_product"),
)


def categories(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Product categories that have order lines: the pieces a large catalogue is forecast in."""
    rows = con.sql(
        "select distinct p.category from marts.fct_order_lines l join marts.dim_product p using (product_key) "
        "where p.category is not null order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def read_history(con: duckdb.DuckDBPyConnection, only_categories: list[str] | None = None) -> tuple[date, pl.DataFrame]:
    """(as-of date, demand_history frame with each sku's product category) for every series, or those of
    the skus in `only_categories`. Selection groups series by category (selection.py)."""
    (as_of,) = con.sql("select as_of_date from intermediate.int_as_of_date").fetchall()[0]
    params: dict = {}
    in_scope = "true"
    if only_categories is not None:
        in_scope = "sku in (select sku from marts.dim_product where list_contains($categories, category))"
        params["categories"] = only_categories
    lines = con.sql(
        "select sku, warehouse_id, order_date, quantity_ordered, unit_price, is_cancelled "
        f"from marts.fct_order_lines where {in_scope}",
        params=params,
    ).pl()
    # Of the stock snapshots only the stockout days matter (demand_history censors them): read just those,
    # not every snapshot of every series into memory.
    inventory = con.sql(
        "select snapshot_date, warehouse_id, sku, on_hand_qty from marts.fct_inventory_daily "
        f"where on_hand_qty = 0 and snapshot_date <= $as_of and {in_scope}",
        params={**params, "as_of": as_of},
    ).pl()
    warehouses = con.sql("select warehouse_id, country from marts.dim_warehouse").pl()
    products = con.sql("select sku, category from marts.dim_product where not is_unknown").pl()
    history = demand_history(lines, inventory, warehouses, as_of)
    return as_of, history.join(products.unique("sku"), on="sku", how="left")
