"""Feed tables from the simulation: every version of every row, with the day whose file carries it.

Columns, their order and their types come from the contract; this module only says where each
value comes from. Only rows whose file day is in [first_day, last simulated day] are built.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.feeds.contract import DISPOSITIONS, FEEDS, RETURN_REASONS, SCRAP_REASONS
from pipelines.feeds.rules import POLARS_TYPES

from .config import DAY_SECONDS
from .customers import ALL_REGIONS
from .fulfilment import CARRIER_NAMES
from .masters import product_version_keys
from .orders import CANCELLED, SHIPPED
from .plant import CATEGORY_NAMES
from .production import CANCELLED as WO_CANCELLED
from .production import RELEASED
from .simulation import SimResult

FILE_DAY = "_day"  # simulation day of the file a row goes to
# The loader's types, except that a file's timestamps are UTC instants (the loader stores naive UTC).
FILE_TYPES: dict[str, pl.DataType] = {**POLARS_TYPES, "ts": pl.Datetime("us", "UTC")}
MASTER_SYNC = 2 * 3600  # master data is exported at 02:00


def _conform(feed: str, df: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """The contract's columns, in its order and types (a column not produced here is an error)."""
    out = df.lazy().select([pl.col(c.name).cast(FILE_TYPES[c.dtype]) for c in FEEDS[feed].columns] + [pl.col(FILE_DAY)])
    return out.collect()


def _money(cents: str) -> pl.Expr:
    return pl.col(cents).cast(FILE_TYPES["dec"]) / 100


def _pick(values: pl.Series | tuple[str, ...] | list[str] | np.ndarray, index: str | pl.Expr) -> pl.Expr:
    at = pl.col(index) if isinstance(index, str) else index
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(at)


class _Ids:
    """How a simulation index becomes the id a feed carries."""

    def __init__(self, res: SimResult) -> None:
        self.res = res
        self.stamps = np.char.replace(res.world.dates().astype(str), "-", "")
        self.epoch_day = res.world.origin_epoch_day

    def ts(self, seconds: str | pl.Expr) -> pl.Expr:
        """Seconds since the simulation's origin to a UTC timestamp."""
        c = pl.col(seconds) if isinstance(seconds, str) else seconds
        return pl.from_epoch(c + self.epoch_day * DAY_SECONDS, time_unit="s").dt.replace_time_zone("UTC")

    def date(self, day: str) -> pl.Expr:
        return (pl.col(day) + self.epoch_day).cast(pl.Int32).cast(pl.Date)

    def stamped(self, prefix: str, day: str, seq: str, width: int) -> pl.Expr:
        return pl.lit(prefix) + _pick(self.stamps, day) + pl.lit("-") + pl.col(seq).cast(pl.String).str.zfill(width)

    def order_id(self) -> pl.Expr:
        return self.stamped("SO-", "day", "seq", 6)

    def sku(self, col: str = "sku") -> pl.Expr:
        return _pick(self.res.products.ids, col)

    def warehouse(self, col: str = "wh") -> pl.Expr:
        return _pick([w.id for w in self.res.warehouses], col)

    def supplier(self, col: str) -> pl.Expr:
        return _pick(self.res.suppliers.ids, col)


def _versions(
    base: pl.DataFrame, first_day: int, last_day: int, versions: list[tuple[pl.Expr, str, str]]
) -> pl.LazyFrame:
    """Each row once per version that happened: (condition, status, column holding its timestamp).
    The version's timestamp becomes `_upd` and its UTC day picks the file."""
    lazy = base.lazy()
    parts = [lazy.filter(when).with_columns(_status=pl.lit(status), _upd=pl.col(ts)) for when, status, ts in versions]
    out = pl.concat(parts).with_columns((pl.col("_upd") // DAY_SECONDS).alias(FILE_DAY))
    return out.filter(pl.col(FILE_DAY).is_between(first_day, last_day)).sort([FILE_DAY, "_upd", "_row"])


def orders(res: SimResult, first_day: int) -> pl.DataFrame:
    b, ids = res.lines, _Ids(res)
    names = (
        "day",
        "seq",
        "line",
        "pool",
        "customer",
        "region",
        "wh",
        "sku",
        "qty",
        "price",
        "order_ts",
        "promised",
        "status",
        "shipped_qty",
        "shipped_ts",
        "delivered_ts",
        "carrier",
        "ship_cost",
        "cancelled_ts",
    )
    base = pl.DataFrame({k: b[k] for k in names}).with_row_index("_row")
    shipped = pl.col("status") == SHIPPED
    v = _versions(
        base,
        first_day,
        res.world.n_days - 1,
        [
            (pl.lit(True), "open", "order_ts"),
            (shipped, "shipped", "shipped_ts"),
            (shipped, "delivered", "delivered_ts"),
            (pl.col("status") == CANCELLED, "cancelled", "cancelled_ts"),
        ],
    )
    st = pl.col("_status")
    moved = st.is_in(["shipped", "delivered"])
    v = v.with_columns(
        order_id=ids.order_id(),
        line_number=pl.col("line"),
        order_ts=ids.ts("order_ts"),
        customer_id=pl.lit("CUST-") + pl.col("customer").cast(pl.String).str.zfill(10),
        channel=_pick([p.channel for p in res.pools], "pool"),
        ship_to_region=_pick(ALL_REGIONS, "region"),
        sku=ids.sku(),
        warehouse_id=ids.warehouse(),
        quantity_ordered=pl.col("qty"),
        unit_price=_money("price"),
        promised_date=ids.date("promised"),
        status=st,
        quantity_shipped=pl.when(st != "open").then(pl.col("shipped_qty")),
        shipped_ts=pl.when(moved).then(ids.ts("shipped_ts")),
        delivered_ts=pl.when(st == "delivered").then(ids.ts("delivered_ts")),
        carrier=pl.when(moved).then(_pick(CARRIER_NAMES, "carrier")),
        shipping_cost=pl.when(moved).then(_money("ship_cost")),
        updated_at=ids.ts("_upd"),
    )
    return _conform("orders", v)


def purchase_orders(res: SimResult, first_day: int) -> pl.DataFrame:
    p, ids = res.purchase_orders, _Ids(res)
    names = (
        "day",
        "seq",
        "line",
        "supplier",
        "sku",
        "wh",
        "qty",
        "cost",
        "promised",
        "order_ts",
        "cancelled",
        "event_day",
        "event_ts",
        "received_qty",
        "rejected_qty",
    )
    base = pl.DataFrame({k: p[k] for k in names}).with_row_index("_row")
    v = _versions(
        base,
        first_day,
        res.world.n_days - 1,
        [
            (pl.lit(True), "open", "order_ts"),
            (~pl.col("cancelled"), "received", "event_ts"),
            (pl.col("cancelled"), "cancelled", "event_ts"),
        ],
    )
    got = pl.col("_status") == "received"
    v = v.with_columns(
        po_id=ids.stamped("PO-", "day", "seq", 4),
        line_number=pl.col("line"),
        supplier_id=ids.supplier("supplier"),
        sku=ids.sku(),
        warehouse_id=ids.warehouse(),
        order_date=ids.date("day"),
        promised_date=ids.date("promised"),
        quantity_ordered=pl.col("qty"),
        unit_cost=_money("cost"),
        status=pl.col("_status"),
        received_date=pl.when(got).then(ids.date("event_day")),
        quantity_received=pl.when(got).then(pl.col("received_qty")),
        quantity_rejected=pl.when(got).then(pl.col("rejected_qty")),
        updated_at=ids.ts("_upd"),
    )
    return _conform("purchase_orders", v)


def returns(res: SimResult, first_day: int) -> pl.DataFrame:
    r, b, ids = res.returns, res.lines, _Ids(res)
    line = r["line"]
    base = pl.DataFrame(
        {
            "day": b["day"][line],
            "seq": b["seq"][line],
            "line": b["line"][line],
            "sku": b["sku"][line],
            **{k: r[k] for k in ("qty", "reason", "requested_ts", "received_ts", "disposition", "refund")},
        }
    ).with_row_index("_row")
    v = _versions(
        base,
        first_day,
        res.world.n_days - 1,
        [
            (pl.lit(True), "requested", "requested_ts"),
            (pl.col("received_ts") >= 0, "received", "received_ts"),
        ],
    )
    got = pl.col("_status") == "received"
    v = v.with_columns(
        return_id=ids.stamped("RMA-", "day", "seq", 6) + pl.lit("-") + pl.col("line").cast(pl.String),
        order_id=ids.order_id(),
        line_number=pl.col("line"),
        sku=ids.sku(),
        requested_ts=ids.ts("requested_ts"),
        received_ts=pl.when(got).then(ids.ts("received_ts")),
        quantity_returned=pl.col("qty"),
        reason_code=_pick(RETURN_REASONS, "reason"),
        disposition=pl.when(got).then(_pick(DISPOSITIONS, "disposition")),
        refund_amount=_money("refund"),
        updated_at=ids.ts("_upd"),
    )
    return _conform("returns", v)


def inventory(res: SimResult, first_day: int) -> pl.DataFrame:
    n_wh = len(res.warehouses)
    on_hand, reserved = res.on_hand[first_day:], res.reserved[first_day:]
    days = np.arange(first_day, res.world.n_days)[:, None]
    end = np.repeat(res.products.end_day, n_wh)[None, :]
    # A sku gets a bin at its first receipt; a discontinued one leaves when its last unit has gone.
    present = (days >= res.stocked_from[None, :]) & ((days < end) | (on_hand > 0))
    d, s = np.nonzero(present)
    ids = _Ids(res)
    v = pl.DataFrame({FILE_DAY: d + first_day, "s": s, "on_hand_qty": on_hand[d, s], "reserved_qty": reserved[d, s]})
    v = v.with_columns(
        snapshot_date=ids.date(FILE_DAY),
        warehouse_id=ids.warehouse(pl.col("s") % n_wh),
        sku=ids.sku(pl.col("s") // n_wh),
    )
    return _conform("inventory", v)


def _master(feed: str, res: SimResult, first_day: int, v: pl.DataFrame) -> pl.DataFrame:
    """Master rows of the days written, stamped with the nightly export time of their day."""
    v = v.filter(pl.col(FILE_DAY).is_between(first_day, res.world.n_days - 1))
    v = v.sort(FILE_DAY, maintain_order=True)
    exported = _Ids(res).ts(pl.col(FILE_DAY) * DAY_SECONDS + MASTER_SYNC)
    return _conform(feed, v.with_columns(updated_at=exported))


def products(res: SimResult, first_day: int) -> pl.DataFrame:
    p, ids = res.products, _Ids(res)
    day, sku = product_version_keys(p)
    day, sku = day[day < res.world.n_days], sku[day < res.world.n_days]
    v = pl.DataFrame(
        {
            FILE_DAY: day,
            "i": sku,
            "cat": p.category[sku],
            "cost": p.cost[day, sku],
            "price": p.price[day, sku],
            "sup": p.supplier[day, sku],
        }
    )
    supplier = ids.supplier("sup")
    if p.made is not None:  # a made sku has no supplier of its own
        supplier = pl.when(~pl.lit(pl.Series(p.made)).gather(pl.col("i"))).then(supplier)
    v = v.with_columns(
        sku=ids.sku("i"),
        product_name=pl.lit(p.names).gather(pl.col("i")),
        category=_pick(CATEGORY_NAMES, "cat"),
        subcategory=pl.lit(p.subcategory).gather(pl.col("i")),
        unit_cost=_money("cost"),
        list_price=_money("price"),
        primary_supplier_id=supplier,
        order_multiple=pl.lit(pl.Series(p.case_pack)).gather(pl.col("i")),
        min_order_qty=pl.lit(pl.Series(p.min_order_qty)).gather(pl.col("i")),
    )
    return _master("products", res, first_day, v)


def suppliers(res: SimResult, first_day: int) -> pl.DataFrame:
    s = res.suppliers
    return _master(
        "suppliers",
        res,
        first_day,
        pl.DataFrame(
            {
                FILE_DAY: np.maximum(s.onboard_day, 0),
                "supplier_id": s.ids,
                "supplier_name": s.names,
                "country": s.country,
                "payment_terms_days": s.payment_terms,
                "contracted_lead_time_days": s.lead,
            }
        ),
    )


def warehouses(res: SimResult, first_day: int) -> pl.DataFrame:
    w = res.warehouses
    return _master(
        "warehouses",
        res,
        first_day,
        pl.DataFrame(
            {
                FILE_DAY: [0] * len(w),
                "warehouse_id": [x.id for x in w],
                "warehouse_name": [x.name for x in w],
                "region": [x.region for x in w],
                "country": [x.country for x in w],
                "operator": [x.operator for x in w],
            }
        ),
    )


def work_centers(res: SimResult, first_day: int) -> pl.DataFrame:
    plant = res.plant
    return _master(
        "work_centers",
        res,
        first_day,
        pl.DataFrame(
            {
                FILE_DAY: [0] * len(plant.center_ids),
                "work_center_id": plant.center_ids,
                "work_center_name": plant.center_names,
                "warehouse_id": [res.warehouses[s].id for s in plant.center_site],
                "capacity_hours_per_day": plant.capacity,
            }
        ),
    )


def bill_of_materials(res: SimResult, first_day: int) -> pl.DataFrame:
    plant, ids = res.plant, _Ids(res)
    v = pl.DataFrame(
        {
            FILE_DAY: np.zeros(plant.parent.size, np.int64),
            "parent": plant.parent,
            "child": plant.child,
            "quantity_per": plant.quantity_per.astype(float),
            "scrap_allowance": plant.allowance,
        },
        nan_to_null=True,
    )
    v = v.with_columns(parent_sku=ids.sku("parent"), component_sku=ids.sku("child"))
    return _master("bill_of_materials", res, first_day, v)


def work_orders(res: SimResult, first_day: int) -> pl.DataFrame:
    w, ids = res.work_orders, _Ids(res)
    names = ("day", "seq", "sku", "wh", "center", "qty", "planned_start", "planned_finish", "status")
    names += ("created_ts", "released_ts", "start_ts", "finish_ts", "cancelled_ts")
    names += ("produced", "scrapped", "hours", "reason", "defect_sku")
    base = pl.DataFrame({k: w[k] for k in names}).with_row_index("_row")
    released = pl.col("status") == RELEASED
    v = _versions(
        base,
        first_day,
        res.world.n_days - 1,
        [
            (pl.lit(True), "planned", "created_ts"),
            (released, "released", "released_ts"),
            (released, "in_progress", "start_ts"),
            (released, "completed", "finish_ts"),
            (pl.col("status") == WO_CANCELLED, "cancelled", "cancelled_ts"),
        ],
    )
    st = pl.col("_status")
    started, done = st.is_in(["in_progress", "completed"]), st == "completed"
    reason = pl.when(done & (pl.col("scrapped") > 0)).then(_pick(SCRAP_REASONS, pl.col("reason").clip(0)))
    v = v.with_columns(
        work_order_id=ids.stamped("WO-", "day", "seq", 4),
        sku=ids.sku(),
        work_center_id=_pick(res.plant.center_ids, "center"),
        warehouse_id=ids.warehouse(),
        planned_start_date=ids.date("planned_start"),
        planned_finish_date=ids.date("planned_finish"),
        quantity_planned=pl.col("qty"),
        status=st,
        actual_start_ts=pl.when(started).then(ids.ts("start_ts")),
        actual_finish_ts=pl.when(done).then(ids.ts("finish_ts")),
        quantity_produced=pl.when(done).then(pl.col("produced")),
        quantity_scrapped=pl.when(done).then(pl.col("scrapped")),
        labor_hours=pl.when(done).then(pl.col("hours")),
        scrap_reason=reason,
        defect_component_sku=pl.when(reason.is_not_null() & (pl.col("defect_sku") >= 0)).then(
            ids.sku(pl.col("defect_sku").clip(0))
        ),
        updated_at=ids.ts("_upd"),
    )
    return _conform("work_orders", v)


BUILDERS = {
    "products": products,
    "warehouses": warehouses,
    "suppliers": suppliers,
    "orders": orders,
    "inventory": inventory,
    "purchase_orders": purchase_orders,
    "returns": returns,
    "work_centers": work_centers,
    "bill_of_materials": bill_of_materials,
    "work_orders": work_orders,
}
