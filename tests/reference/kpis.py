"""Reference KPIs in polars, computed straight from the landing files.

This module deliberately shares nothing with the loader or the dbt project: it reads the CSV files of
`<landing>/<feed>/`, parses them itself, picks the current version of every key itself and applies
`kpi-definitions.md` as written. A test compares its output with `marts.kpi_monthly`.

Output of `kpi_monthly`: one row per kpi and month, columns `month` (date, first of month), `kpi`,
`value`, `numerator`, `denominator` (f64). A month whose denominator is zero has no row.

How the definitions are read where they leave room (each choice is also in the report):
- current version: latest `updated_at` (a null `updated_at` is older than any value), then the later
  file (by file name: the files it is given load in one run, in name order, so the later name is the later
  delivery), then the later row of that file; inventory has no version column: later file, then later row.
- the as-of date is the latest UTC date of `order_ts` over the current order lines.
- a line is "on time" when `delivered_ts` is not null and its UTC date <= its own `promised_date`;
  "in full" when `coalesce(quantity_shipped, 0) >= quantity_ordered`.
- an order's `order_ts` is the earliest `order_ts` of its lines (all lines of an order share it).
- "every non-cancelled line is delivered" means every non-cancelled line has a `delivered_ts`; an order
  with no non-cancelled line is left out of the cycle time.
- means: numerator = sum, denominator = count. Standard deviation (sample): numerator = the sum of the
  values, denominator = null (the definitions' "`denominator` the count (null for the standard
  deviation)"); a month with a single value has no row (the sample variance divides by n - 1 = 0).
- totals and counts (`revenue`, `active_customers`): numerator = value, denominator = null.
- `supplier_defect_ppm`: numerator = units rejected, denominator = units received, value = 1e6 × num / den.
- `inventory_value`: numerator = sum over the month's snapshot days of the day's stock value,
  denominator = the number of snapshot days in the month.
- `inventory_turns`: numerator = COGS × 365 / days in the calendar month, denominator = inventory_value.
- `days_inventory_outstanding`: numerator = 365, denominator = inventory_turns.
- `dpo_days`: weight = quantity_received × the PO line's own unit_cost (what is owed to the supplier);
  numerator = sum(terms × weight), denominator = sum(weight).
- "costs" everywhere (COGS, stock value, gross margin) use the product's current unit_cost.
- `dso_days` (a constant, 0 by default) and `cash_to_cash_days` = DIO + DSO - DPO have a row on the
  months that have both a DIO and a DPO row; numerator and denominator are null.
- Make (only where the work_orders feed has rows): a due work order is not cancelled with
  `planned_finish_date` <= the as-of date (the orders' one); a completed one has status `completed` and an
  `actual_finish_ts`. `capacity_utilisation_rate`'s denominator is the summed `capacity_hours_per_day` of
  the current work centers x the calendar days of the month; the cycle time's numerator is the sum and its
  denominator the count of completed work orders with both timestamps.
- `production_defect_units` (per supplier, not monthly): units scrapped with reason `component_defect` by
  completed work orders whose `actual_finish_ts` date is in the 90 days ending on the as-of date, by the
  primary supplier of `defect_component_sku` in the current product master (None when the sku is not there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

SECONDS_PER_DAY = 86_400.0
RETURN_REASONS_IMPERFECT = ("damaged", "defective", "wrong_item")

# The columns this module reads, with the type it parses them as. Text columns not listed stay text.
_TYPES: dict[str, dict[str, str]] = {
    "products": {"unit_cost": "dec", "list_price": "dec", "updated_at": "ts"},
    "suppliers": {"payment_terms_days": "int", "contracted_lead_time_days": "int", "updated_at": "ts"},
    "warehouses": {"updated_at": "ts"},
    "orders": {
        "line_number": "int",
        "order_ts": "ts",
        "quantity_ordered": "int",
        "unit_price": "dec",
        "promised_date": "date",
        "quantity_shipped": "int",
        "shipped_ts": "ts",
        "delivered_ts": "ts",
        "shipping_cost": "dec",
        "updated_at": "ts",
    },
    "inventory": {"snapshot_date": "date", "on_hand_qty": "int", "reserved_qty": "int"},
    "purchase_orders": {
        "line_number": "int",
        "order_date": "date",
        "promised_date": "date",
        "quantity_ordered": "int",
        "unit_cost": "dec",
        "received_date": "date",
        "quantity_received": "int",
        "quantity_rejected": "int",
        "updated_at": "ts",
    },
    "returns": {
        "line_number": "int",
        "requested_ts": "ts",
        "received_ts": "ts",
        "quantity_returned": "int",
        "refund_amount": "dec",
        "updated_at": "ts",
    },
    "work_centers": {"capacity_hours_per_day": "dec", "updated_at": "ts"},
    "bill_of_materials": {"quantity_per": "dec", "scrap_allowance": "dec", "updated_at": "ts"},
    "work_orders": {
        "planned_start_date": "date",
        "planned_finish_date": "date",
        "quantity_planned": "int",
        "actual_start_ts": "ts",
        "actual_finish_ts": "ts",
        "quantity_produced": "int",
        "quantity_scrapped": "int",
        "labor_hours": "dec",
        "updated_at": "ts",
    },
}
_KEYS: dict[str, tuple[str, ...]] = {
    "products": ("sku",),
    "suppliers": ("supplier_id",),
    "warehouses": ("warehouse_id",),
    "orders": ("order_id", "line_number"),
    "inventory": ("snapshot_date", "warehouse_id", "sku"),
    "purchase_orders": ("po_id", "line_number"),
    "returns": ("return_id",),
    "work_centers": ("work_center_id",),
    "bill_of_materials": ("parent_sku", "component_sku"),
    "work_orders": ("work_order_id",),
}
# Text columns the KPIs read (only needed to give a feed without files its columns).
_TEXT: dict[str, tuple[str, ...]] = {
    "products": ("sku", "primary_supplier_id"),
    "suppliers": ("supplier_id",),
    "warehouses": ("warehouse_id",),
    "orders": ("order_id", "customer_id", "sku", "warehouse_id", "status"),
    "inventory": ("warehouse_id", "sku"),
    "purchase_orders": ("po_id", "supplier_id", "sku", "status"),
    "returns": ("return_id", "order_id", "sku", "reason_code", "disposition"),
    "work_centers": ("work_center_id", "warehouse_id"),
    "bill_of_materials": ("parent_sku", "component_sku"),
    "work_orders": (
        "work_order_id",
        "sku",
        "work_center_id",
        "warehouse_id",
        "status",
        "scrap_reason",
        "defect_component_sku",
    ),
}
_VERSION: dict[str, str | None] = {f: ("updated_at" if f != "inventory" else None) for f in _KEYS}

# ISO-8601: date, optional time (seconds and fraction optional), optional offset (Z, +HH, +HHMM, +HH:MM).
_TS_RE = (
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)


def parse_ts(text: pl.Expr) -> pl.Expr:
    """ISO-8601 text to a naive UTC datetime (µs); no offset means UTC."""
    g = text.str.extract_groups(_TS_RE)

    def part(i: int) -> pl.Expr:
        return g.struct.field(str(i))

    def num(i: int, default: int = 0) -> pl.Expr:
        return part(i).cast(pl.Int32).fill_null(default)

    micro = part(7).str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int32).fill_null(0)
    ymd = [part(i).cast(pl.Int32) for i in (1, 2, 3)]
    local = pl.datetime(*ymd, num(4), num(5), num(6), micro, time_unit="us")
    # Offset as "+HHMM": Z (or none) is +0000, "+05" is "+0500", "+05:30" is "+0530".
    off = (
        pl.when(part(8).is_null() | part(8).str.to_uppercase().eq("Z"))
        .then(pl.lit("+0000"))
        .otherwise(part(8).str.replace_all(":", "").str.pad_end(5, "0"))
    )
    sign = pl.when(off.str.slice(0, 1) == "-").then(-1).otherwise(1)
    off_minutes = sign * (off.str.slice(1, 2).cast(pl.Int32) * 60 + off.str.slice(3, 2).cast(pl.Int32))
    utc = local - pl.duration(minutes=off_minutes)
    return pl.when(part(1).is_not_null()).then(utc).otherwise(None)


def _cast(name: str, kind: str) -> pl.Expr:
    col = pl.col(name).str.strip_chars()
    if kind == "int":
        return col.cast(pl.Int64).alias(name)
    if kind == "dec":
        return col.cast(pl.Float64).alias(name)
    if kind == "date":
        return col.str.to_date("%Y-%m-%d").alias(name)
    if kind == "ts":
        return parse_ts(col).alias(name)
    raise ValueError(kind)


def _feed_files(feed_dir: Path) -> list[Path]:
    """The feed's CSV files in name order (the order versions tie-break on)."""
    if not feed_dir.is_dir():
        return []
    files = sorted((p for p in feed_dir.iterdir() if p.is_file()), key=lambda p: p.name)
    if any(p.name.lower().endswith(".parquet") for p in files):
        raise NotImplementedError(f"{feed_dir}: the reference reads CSV landing files only")
    return [p for p in files if p.name.lower().endswith((".csv", ".csv.gz"))]


def read_versions(landing: Path, feed: str) -> pl.DataFrame:
    """Every row of every file of a feed, typed, with `_file` (index in name order) and `_row`."""
    types = _TYPES[feed]
    frames = []
    for i, path in enumerate(_feed_files(Path(landing) / feed)):
        frame = pl.read_csv(path, infer_schema=False)
        frame = frame.rename({c: c.strip().lower() for c in frame.columns})
        missing = [c for c in types if c not in frame.columns]
        frame = frame.with_columns(pl.lit(None, pl.String).alias(c) for c in missing)
        frame = frame.with_columns(_cast(c, k) for c, k in types.items())
        frames.append(frame.with_columns(pl.lit(i, pl.Int64).alias("_file")).with_row_index("_row"))
    if not frames:
        names = dict.fromkeys([*_KEYS[feed], *_TEXT[feed], *types])
        empty = pl.DataFrame(schema={**dict.fromkeys(names, pl.String), "_file": pl.Int64, "_row": pl.UInt32})
        return empty.with_columns(_cast(c, k) for c, k in types.items())
    return pl.concat(frames, how="diagonal_relaxed")


def current(versions: pl.DataFrame, key: tuple[str, ...], version: str | None) -> pl.DataFrame:
    """The current version of each key: latest version column (null oldest), then later file, then row."""
    order = ([version] if version else []) + ["_file", "_row"]
    return versions.sort([*key, *order], nulls_last=False).unique(subset=list(key), keep="last", maintain_order=True)


def current_rows(landing: Path, feed: str) -> pl.DataFrame:
    """The current version of every key of one feed."""
    return current(read_versions(landing, feed), _KEYS[feed], _VERSION[feed])


@dataclass(frozen=True)
class Feeds:
    products: pl.DataFrame
    suppliers: pl.DataFrame
    orders: pl.DataFrame
    inventory: pl.DataFrame
    purchase_orders: pl.DataFrame
    returns: pl.DataFrame
    work_centers: pl.DataFrame
    work_orders: pl.DataFrame


def load_current(landing: Path) -> Feeds:
    def cur(feed: str) -> pl.DataFrame:
        return current_rows(landing, feed)

    return Feeds(
        products=cur("products"),
        suppliers=cur("suppliers"),
        orders=cur("orders"),
        inventory=cur("inventory"),
        purchase_orders=cur("purchase_orders"),
        returns=cur("returns"),
        work_centers=cur("work_centers"),
        work_orders=cur("work_orders"),
    )


# --- helpers -------------------------------------------------------------------------------------

OUT_SCHEMA = {
    "month": pl.Date,
    "kpi": pl.String,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}


def _month(expr: pl.Expr) -> pl.Expr:
    return expr.dt.truncate("1mo").cast(pl.Date)


def _ratio(df: pl.DataFrame, kpi: str, month: pl.Expr, num: pl.Expr, den: pl.Expr, scale: float = 1.0) -> pl.DataFrame:
    """sum(num) / sum(den) per month; months whose denominator is zero (or null) have no row."""
    out = (
        df.select(month.alias("month"), num.cast(pl.Float64).alias("n"), den.cast(pl.Float64).alias("d"))
        .filter(pl.col("month").is_not_null())
        .group_by("month")
        .agg(pl.col("n").sum().alias("numerator"), pl.col("d").sum().alias("denominator"))
        .filter(pl.col("denominator") != 0)
    )
    return _finish(out, kpi, pl.col("numerator") / pl.col("denominator") * scale)


def _flag_rate(df: pl.DataFrame, kpi: str, month: pl.Expr, flag: pl.Expr) -> pl.DataFrame:
    return _ratio(df, kpi, month, flag.fill_null(False).cast(pl.Int64), pl.lit(1))


def _mean(df: pl.DataFrame, kpi: str, month: pl.Expr, x: pl.Expr) -> pl.DataFrame:
    out = (
        df.select(month.alias("month"), x.cast(pl.Float64).alias("x"))
        .filter(pl.col("month").is_not_null() & pl.col("x").is_not_null())
        .group_by("month")
        .agg(pl.col("x").sum().alias("numerator"), pl.col("x").count().cast(pl.Float64).alias("denominator"))
    )
    return _finish(out, kpi, pl.col("numerator") / pl.col("denominator"))


def _stddev(df: pl.DataFrame, kpi: str, month: pl.Expr, x: pl.Expr) -> pl.DataFrame:
    out = (
        df.select(month.alias("month"), x.cast(pl.Float64).alias("x"))
        .filter(pl.col("month").is_not_null() & pl.col("x").is_not_null())
        .group_by("month")
        .agg(
            pl.col("x").std(ddof=1).alias("value"),
            pl.col("x").sum().alias("numerator"),
            pl.lit(None, pl.Float64).alias("denominator"),
            pl.col("x").count().alias("n"),
        )
        # The sample variance divides by n - 1: with one value that denominator is zero, so no row.
        .filter(pl.col("n") >= 2)
    )
    return _finish(out, kpi, pl.col("value"))


def _total(df: pl.DataFrame, kpi: str, month: pl.Expr, agg: pl.Expr) -> pl.DataFrame:
    out = (
        df.with_columns(month.alias("month"))
        .filter(pl.col("month").is_not_null())
        .group_by("month")
        .agg(agg.cast(pl.Float64).alias("numerator"))
        .with_columns(pl.lit(None, pl.Float64).alias("denominator"))
    )
    return _finish(out, kpi, pl.col("numerator"))


def _finish(out: pl.DataFrame, kpi: str, value: pl.Expr) -> pl.DataFrame:
    return out.select(
        pl.col("month").cast(pl.Date),
        pl.lit(kpi, pl.String).alias("kpi"),
        value.cast(pl.Float64).alias("value"),
        pl.col("numerator").cast(pl.Float64),
        pl.col("denominator").cast(pl.Float64),
    )


def _days(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Fractional days between two timestamps."""
    return (later - earlier).dt.total_microseconds().cast(pl.Float64) / 1e6 / SECONDS_PER_DAY


# --- the KPIs ------------------------------------------------------------------------------------


def as_of_date(feeds: Feeds) -> date | None:
    return feeds.orders.select(pl.col("order_ts").dt.date().max()).item()


def deliver_kpis(feeds: Feeds, as_of: date) -> list[pl.DataFrame]:
    lines = feeds.orders.with_columns(
        cancelled=pl.col("status") == "cancelled",
        on_time=(
            pl.col("delivered_ts").is_not_null() & (pl.col("delivered_ts").dt.date() <= pl.col("promised_date"))
        ).fill_null(False),
        in_full=(pl.col("quantity_shipped").fill_null(0) >= pl.col("quantity_ordered")).fill_null(False),
    ).with_columns(otif=pl.col("on_time") & pl.col("in_full"))
    due = lines.filter(~pl.col("cancelled") & (pl.col("promised_date") <= as_of))
    pm = _month(pl.col("promised_date"))
    qs, qo = pl.col("quantity_shipped"), pl.col("quantity_ordered")
    backordered = (qs.is_null() | (qs < qo)) & (
        pl.col("shipped_ts").is_null() | (pl.col("shipped_ts").dt.date() > pl.col("promised_date"))
    )
    out = [
        _flag_rate(due, "line_on_time_rate", pm, pl.col("on_time")),
        _flag_rate(due, "line_in_full_rate", pm, pl.col("in_full")),
        _flag_rate(due, "line_otif_rate", pm, pl.col("otif")),
        _ratio(due, "unit_fill_rate", pm, qs.fill_null(0), qo),
        _flag_rate(due, "backorder_rate", pm, backordered),
    ]

    # Orders: promised date = max promised_date of the non-cancelled lines; due when that is <= as-of.
    imperfect = (
        feeds.returns.filter(pl.col("reason_code").is_in(RETURN_REASONS_IMPERFECT))
        .select("order_id")
        .unique()
        .with_columns(has_bad_return=pl.lit(True))
    )
    orders = (
        lines.filter(~pl.col("cancelled"))
        .group_by("order_id")
        .agg(
            pl.col("promised_date").max().alias("order_promised_date"),
            pl.col("otif").all().alias("otif"),
        )
        .filter(pl.col("order_promised_date") <= as_of)
        .join(imperfect, on="order_id", how="left")
        .with_columns(perfect=pl.col("otif") & pl.col("has_bad_return").is_null())
    )
    opm = _month(pl.col("order_promised_date"))
    out += [
        _flag_rate(orders, "otif_rate", opm, pl.col("otif")),
        _flag_rate(orders, "perfect_order_rate", opm, pl.col("perfect")),
    ]

    # Cycle time: orders whose every non-cancelled line is delivered.
    cycle = (
        lines.filter(~pl.col("cancelled"))
        .group_by("order_id")
        .agg(
            pl.col("order_ts").min(),
            pl.col("delivered_ts").is_not_null().all().alias("all_delivered"),
            pl.col("delivered_ts").max().alias("last_delivered"),
        )
        .filter(pl.col("all_delivered"))
    )
    out.append(
        _mean(
            cycle,
            "order_cycle_time_days",
            _month(pl.col("order_ts")),
            _days(pl.col("last_delivered"), pl.col("order_ts")),
        )
    )

    om = _month(pl.col("order_ts"))
    out.append(_flag_rate(lines, "cancellation_rate", om, pl.col("cancelled")))
    shipped = lines.filter(pl.col("shipped_ts").is_not_null())
    out.append(
        _ratio(
            shipped,
            "shipping_cost_per_unit",
            _month(pl.col("shipped_ts")),
            pl.col("shipping_cost").fill_null(0),
            pl.col("quantity_shipped").fill_null(0),
        )
    )
    return out


def return_kpis(feeds: Feeds) -> list[pl.DataFrame]:
    lines = feeds.orders
    returned = feeds.returns.join(
        lines.select("order_id", "line_number", pl.col("order_ts").alias("line_order_ts")),
        on=["order_id", "line_number"],
        how="inner",
    )
    live = lines.filter(pl.col("status") != "cancelled")
    by_month_ret = returned.group_by(_month(pl.col("line_order_ts")).alias("month")).agg(
        pl.col("quantity_returned").sum().cast(pl.Float64).alias("units_returned"),
        pl.col("refund_amount").sum().cast(pl.Float64).alias("refunds"),
    )
    qs = pl.col("quantity_shipped").fill_null(0)
    by_month_ship = live.group_by(_month(pl.col("order_ts")).alias("month")).agg(
        qs.sum().cast(pl.Float64).alias("units_shipped"),
        (qs * pl.col("unit_price")).sum().cast(pl.Float64).alias("value_shipped"),
    )
    both = by_month_ship.join(by_month_ret, on="month", how="full", coalesce=True).with_columns(
        pl.col("units_returned", "refunds", "units_shipped", "value_shipped").fill_null(0)
    )
    m = pl.col("month")
    out = [
        _ratio(both, "return_rate_units", m, pl.col("units_returned"), pl.col("units_shipped")),
        _ratio(both, "return_value_rate", m, pl.col("refunds"), pl.col("value_shipped")),
    ]
    received = feeds.returns.filter(pl.col("received_ts").is_not_null())
    rm = _month(pl.col("received_ts"))
    out += [
        _mean(received, "return_processing_days", rm, _days(pl.col("received_ts"), pl.col("requested_ts"))),
        _flag_rate(received, "return_to_vendor_share", rm, pl.col("disposition") == "return_to_vendor"),
    ]
    return out


def _product_cost(feeds: Feeds) -> pl.DataFrame:
    return feeds.products.select("sku", pl.col("unit_cost").alias("product_unit_cost"))


def source_kpis(feeds: Feeds) -> list[pl.DataFrame]:
    po = feeds.purchase_orders.filter(pl.col("status") == "received")
    m = _month(pl.col("received_date"))
    lead = (pl.col("received_date") - pl.col("order_date")).dt.total_days()
    out = [
        _flag_rate(po, "supplier_on_time_rate", m, pl.col("received_date") <= pl.col("promised_date")),
        _flag_rate(po, "supplier_in_full_rate", m, pl.col("quantity_received") >= pl.col("quantity_ordered")),
        _mean(po, "supplier_lead_time_days", m, lead),
        _stddev(po, "supplier_lead_time_stddev_days", m, lead),
        _ratio(
            po,
            "supplier_defect_ppm",
            m,
            pl.col("quantity_rejected").fill_null(0),
            pl.col("quantity_received").fill_null(0),
            scale=1_000_000.0,
        ),
    ]
    weighted = po.join(
        feeds.suppliers.select("supplier_id", "payment_terms_days"), on="supplier_id", how="left"
    ).with_columns(w=pl.col("quantity_received").fill_null(0) * pl.col("unit_cost"))
    out.append(
        _ratio(
            weighted.filter(pl.col("w").is_not_null() & pl.col("payment_terms_days").is_not_null()),
            "dpo_days",
            m,
            pl.col("payment_terms_days") * pl.col("w"),
            pl.col("w"),
        )
    )
    return out


def inventory_kpis(feeds: Feeds) -> list[pl.DataFrame]:
    inv = feeds.inventory.join(_product_cost(feeds), on="sku", how="left")
    m = _month(pl.col("snapshot_date"))
    out = [_flag_rate(inv, "stockout_rate", m, pl.col("on_hand_qty") == 0)]
    daily = inv.group_by("snapshot_date").agg(
        (pl.col("on_hand_qty") * pl.col("product_unit_cost")).sum().cast(pl.Float64).alias("stock_value")
    )
    value = _ratio(daily, "inventory_value", m, pl.col("stock_value"), pl.lit(1))
    out.append(value)

    cogs = (
        feeds.orders.filter(pl.col("shipped_ts").is_not_null())
        .join(_product_cost(feeds), on="sku", how="left")
        .group_by(_month(pl.col("shipped_ts")).alias("month"))
        .agg((pl.col("quantity_shipped").fill_null(0) * pl.col("product_unit_cost")).sum().alias("cogs"))
    )
    turns_in = (
        value.select("month", pl.col("value").alias("inventory_value"))
        .join(cogs, on="month", how="left")
        .with_columns(
            pl.col("cogs").fill_null(0),
            days_in_month=pl.col("month").dt.month_end().dt.day().cast(pl.Float64),
        )
    )
    turns = _ratio(
        turns_in,
        "inventory_turns",
        pl.col("month"),
        pl.col("cogs") * 365.0 / pl.col("days_in_month"),
        pl.col("inventory_value"),
    )
    out.append(turns)
    dio = _ratio(turns, "days_inventory_outstanding", pl.col("month"), pl.lit(365.0), pl.col("value"))
    out.append(dio)
    return out


def finance_kpis(feeds: Feeds, dio: pl.DataFrame, dpo: pl.DataFrame, dso_days: float) -> list[pl.DataFrame]:
    """gross margin; cash-to-cash = DIO + DSO - DPO on the months that have both a DIO and a DPO."""
    c2c = (
        dio.select("month", pl.col("value").alias("dio"))
        .join(dpo.select("month", pl.col("value").alias("dpo")), on="month", how="inner")
        .with_columns(numerator=pl.lit(None, pl.Float64), denominator=pl.lit(None, pl.Float64))
    )
    out = [
        _finish(c2c, "dso_days", pl.lit(float(dso_days))),
        _finish(c2c, "cash_to_cash_days", pl.col("dio") + float(dso_days) - pl.col("dpo")),
    ]
    shipped = feeds.orders.filter(pl.col("shipped_ts").is_not_null())
    shipped = shipped.join(_product_cost(feeds), on="sku", how="left")
    qs = pl.col("quantity_shipped")
    return [
        *out,
        _ratio(
            shipped,
            "gross_margin_rate",
            _month(pl.col("shipped_ts")),
            (pl.col("unit_price") - pl.col("product_unit_cost")) * qs,
            pl.col("unit_price") * qs,
        ),
    ]


def customer_kpis(feeds: Feeds) -> list[pl.DataFrame]:
    live = feeds.orders.filter(pl.col("status") != "cancelled").with_columns(month=_month(pl.col("order_ts")))
    first = live.group_by("customer_id").agg(pl.col("month").min().alias("first_month"))
    active = live.select("month", "customer_id").unique().join(first, on="customer_id", how="left")
    m = pl.col("month")
    return [
        _total(active, "active_customers", m, pl.col("customer_id").n_unique()),
        _flag_rate(active, "repeat_customer_rate", m, pl.col("first_month") < pl.col("month")),
        _total(live, "revenue", m, (pl.col("quantity_ordered") * pl.col("unit_price")).sum()),
    ]


def _completed_work_orders(feeds: Feeds) -> pl.DataFrame:
    return feeds.work_orders.filter((pl.col("status") == "completed") & pl.col("actual_finish_ts").is_not_null())


def make_kpis(feeds: Feeds, as_of: date | None) -> list[pl.DataFrame]:
    wo = feeds.work_orders
    produced = pl.col("quantity_produced").fill_null(0)
    scrapped = pl.col("quantity_scrapped").fill_null(0)
    out = []
    if as_of is not None:
        due = wo.filter((pl.col("status") != "cancelled") & (pl.col("planned_finish_date") <= as_of))
        pm = _month(pl.col("planned_finish_date"))
        on_schedule = (
            (pl.col("status") == "completed")
            & pl.col("actual_finish_ts").is_not_null()
            & (pl.col("actual_finish_ts").dt.date() <= pl.col("planned_finish_date"))
        )
        out += [
            _flag_rate(due, "schedule_adherence_rate", pm, on_schedule),
            _ratio(due, "production_attainment_rate", pm, produced, pl.col("quantity_planned")),
        ]
    done = _completed_work_orders(feeds)
    fm = _month(pl.col("actual_finish_ts"))
    capacity = float(feeds.work_centers["capacity_hours_per_day"].sum() or 0.0)
    labor = (
        done.group_by(fm.alias("month"))
        .agg(pl.col("labor_hours").fill_null(0).sum().alias("labor_hours"))
        .with_columns(capacity_hours=capacity * pl.col("month").dt.month_end().dt.day().cast(pl.Float64))
    )
    out += [
        _ratio(done, "first_pass_yield", fm, produced, produced + scrapped),
        _mean(
            done.filter(pl.col("actual_start_ts").is_not_null()),
            "manufacturing_cycle_time_days",
            fm,
            _days(pl.col("actual_finish_ts"), pl.col("actual_start_ts")),
        ),
        _ratio(labor, "capacity_utilisation_rate", pl.col("month"), pl.col("labor_hours"), pl.col("capacity_hours")),
        _ratio(
            done,
            "component_defect_scrap_share",
            fm,
            pl.when(pl.col("scrap_reason") == "component_defect").then(scrapped).otherwise(0),
            scrapped,
        ),
    ]
    return out


def production_defect_units(feeds: Feeds, as_of: date | None = None) -> pl.DataFrame:
    """Per primary supplier of the failed component: units scrapped with reason component_defect by work orders
    completed in the 90 days ending on the as-of date (columns supplier_id, production_defect_units)."""
    as_of = as_of or as_of_date(feeds)
    first = as_of - timedelta(days=89)
    suppliers = feeds.products.select(pl.col("sku").alias("defect_component_sku"), "primary_supplier_id")
    return (
        _completed_work_orders(feeds)
        .filter(
            (pl.col("scrap_reason") == "component_defect")
            & pl.col("actual_finish_ts").dt.date().is_between(first, as_of)
        )
        .join(suppliers, on="defect_component_sku", how="left")
        .group_by(pl.col("primary_supplier_id").alias("supplier_id"))
        .agg(pl.col("quantity_scrapped").fill_null(0).sum().alias("production_defect_units"))
        .sort("supplier_id", nulls_last=True)
    )


def kpi_monthly_from_feeds(feeds: Feeds, as_of: date | None = None, dso_days: float = 0.0) -> pl.DataFrame:
    as_of = as_of or as_of_date(feeds)
    parts = [
        *(deliver_kpis(feeds, as_of) if as_of is not None else []),
        *return_kpis(feeds),
        *source_kpis(feeds),
        *inventory_kpis(feeds),
        *customer_kpis(feeds),
        *make_kpis(feeds, as_of),
    ]
    base = pl.concat([p.select(list(OUT_SCHEMA)).cast(OUT_SCHEMA) for p in parts], how="vertical")

    def kpi(name: str) -> pl.DataFrame:
        return base.filter(pl.col("kpi") == name)

    finance = finance_kpis(feeds, kpi("days_inventory_outstanding"), kpi("dpo_days"), dso_days)
    out = pl.concat([base, *(p.select(list(OUT_SCHEMA)).cast(OUT_SCHEMA) for p in finance)], how="vertical")
    return out.sort("kpi", "month")


def kpi_monthly(landing: Path | str, as_of: date | None = None, dso_days: float = 0.0) -> pl.DataFrame:
    """All reference KPIs from the landing directory: month, kpi, value, numerator, denominator."""
    return kpi_monthly_from_feeds(load_current(Path(landing)), as_of, dso_days)


def product_categories(feeds: Feeds) -> pl.DataFrame:
    """sku -> category of the current product master."""
    return feeds.products.select("sku", "category")


def select_feeds(feeds: Feeds, category: str | None = None, warehouse: str | None = None) -> Feeds:
    """The feeds of one category and/or warehouse (None: all), as a dashboard filter selects them: snapshot rows
    and order lines by their sku's category and their warehouse, returns by their sku's category (a return has no
    warehouse of its own). A sku missing from the product master has category 'unknown'."""

    def selected(frame: pl.DataFrame, by_warehouse: bool = True) -> pl.DataFrame:
        frame = frame.join(product_categories(feeds), on="sku", how="left").with_columns(
            pl.col("category").fill_null("unknown")
        )
        if category is not None:
            frame = frame.filter(pl.col("category") == category)
        if warehouse is not None and by_warehouse:
            frame = frame.filter(pl.col("warehouse_id") == warehouse)
        return frame.drop("category")

    return Feeds(
        **{
            **feeds.__dict__,
            "inventory": selected(feeds.inventory),
            "orders": selected(feeds.orders),
            "returns": selected(feeds.returns, by_warehouse=False),
        }
    )


def inventory_kpis_for(feeds: Feeds, category: str | None = None, warehouse: str | None = None) -> pl.DataFrame:
    """The Inventory KPIs by month over the snapshot rows and order lines of one category and/or warehouse, each
    as kpi-definitions.md defines it for the network, on the selected rows alone (inventory_value averages over
    the days those rows have; COGS is of the selected lines)."""
    chosen = select_feeds(feeds, category, warehouse)
    return pl.concat(inventory_kpis(chosen)).select(list(OUT_SCHEMA)).cast(OUT_SCHEMA).sort("kpi", "month")


def line_kpis_for(feeds: Feeds, category: str | None = None, warehouse: str | None = None) -> pl.DataFrame:
    """The Deliver KPIs of lines (not orders) and the Return rates by month for one category and/or warehouse,
    on the selected order lines and returns; the as-of date stays the network's."""
    chosen = select_feeds(feeds, category, warehouse)
    out = pl.concat(
        [*deliver_kpis(chosen, as_of_date(feeds)), *return_kpis(chosen)[:2]], how="vertical_relaxed"
    ).filter(pl.col("kpi").is_in(LINE_KPIS))
    return out.select(list(OUT_SCHEMA)).cast(OUT_SCHEMA).sort("kpi", "month")


# The line-level Deliver KPIs and the return rates: those a filter by category or warehouse selects lines for.
LINE_KPIS = (
    "line_on_time_rate",
    "line_in_full_rate",
    "line_otif_rate",
    "unit_fill_rate",
    "backorder_rate",
    "return_rate_units",
    "return_value_rate",
)
