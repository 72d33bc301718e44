"""Feed tables from the simulation: every version of every row, with the day whose file carries it.

Columns, their order and their types come from the contract; this module only says where each
value comes from. A builder takes windows of file days, each (first_day, last_day) inclusive and in
order, and yields one table per window holding the versions whose file day falls in it. Before any
polars frame is made, the simulation's rows are cut to those with a version in the window, so a
window's table costs memory in proportion to its own rows, not the whole feed's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import polars as pl

from pipelines.feeds.contract import DISPOSITIONS, FEEDS, RETURN_REASONS, SCRAP_REASONS
from pipelines.feeds.rules import POLARS_TYPES

from .arrays import Columns
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


Window = tuple[int, int]  # file days first..last, inclusive
# A version of a row: (which rows have it, None for all; its status; the column holding its timestamp).
# The condition reads columns through a getter, so one definition filters numpy rows and polars frames.
Version = tuple[Callable[[Callable[[str], Any]], Any] | None, str, str]


def _window_rows(store: Columns, versions: Sequence[Version], windows: Sequence[Window]) -> Iterator[np.ndarray]:
    """For each window, the indices of the rows with at least one version whose file day is in it."""
    first = last = None
    for when, _, ts in versions:
        day = store[ts] // DAY_SECONDS
        has = np.ones(day.size, bool) if when is None else np.asarray(when(store.__getitem__))
        lo, hi = np.where(has, day, np.iinfo(np.int64).max), np.where(has, day, np.iinfo(np.int64).min)
        first = lo if first is None else np.minimum(first, lo)
        last = hi if last is None else np.maximum(last, hi)
    for lo_day, hi_day in windows:
        yield np.flatnonzero((first <= hi_day) & (last >= lo_day))


def _base(store: Columns, names: Sequence[str], rows: np.ndarray) -> pl.DataFrame:
    """The given rows of the store's columns; `_row` keeps their place in the store (the tie-break)."""
    return pl.DataFrame({"_row": rows, **{k: store[k][rows] for k in names}})


def _versions(base: pl.DataFrame, window: Window, versions: Sequence[Version]) -> pl.LazyFrame:
    """Each row once per version that happened: (condition, status, column holding its timestamp).
    The version's timestamp becomes `_upd` and its UTC day picks the file."""
    lazy = base.lazy()
    parts = [
        lazy.filter(pl.lit(True) if when is None else when(pl.col)).with_columns(
            _status=pl.lit(status), _upd=pl.col(ts)
        )
        for when, status, ts in versions
    ]
    out = pl.concat(parts).with_columns((pl.col("_upd") // DAY_SECONDS).alias(FILE_DAY))
    return out.filter(pl.col(FILE_DAY).is_between(*window)).sort([FILE_DAY, "_upd", "_row"])


def _windowed_versions(
    store: Columns, names: Sequence[str], versions: Sequence[Version], windows: Sequence[Window]
) -> Iterator[pl.LazyFrame]:
    """For each window, the versions of the store's rows that fall in it (with the columns `names`)."""
    for window, rows in zip(windows, _window_rows(store, versions, windows), strict=True):
        yield _versions(_base(store, names, rows), window, versions)


ORDER_FIELDS = (
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
ORDER_VERSIONS: tuple[Version, ...] = (
    (None, "open", "order_ts"),
    (lambda c: c("status") == SHIPPED, "shipped", "shipped_ts"),
    (lambda c: c("status") == SHIPPED, "delivered", "delivered_ts"),
    (lambda c: c("status") == CANCELLED, "cancelled", "cancelled_ts"),
)


def orders(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
    b, ids = res.lines, _Ids(res)
    for v in _windowed_versions(b, ORDER_FIELDS, ORDER_VERSIONS, windows):
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
        yield _conform("orders", v)


PO_FIELDS = (
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
PO_VERSIONS: tuple[Version, ...] = (
    (None, "open", "order_ts"),
    (lambda c: ~c("cancelled"), "received", "event_ts"),
    (lambda c: c("cancelled"), "cancelled", "event_ts"),
)


def purchase_orders(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
    p, ids = res.purchase_orders, _Ids(res)
    for v in _windowed_versions(p, PO_FIELDS, PO_VERSIONS, windows):
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
        yield _conform("purchase_orders", v)


RETURN_VERSIONS: tuple[Version, ...] = (
    (None, "requested", "requested_ts"),
    (lambda c: c("received_ts") >= 0, "received", "received_ts"),
)


def returns(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
    r, b, ids = res.returns, res.lines, _Ids(res)
    for window, rows in zip(windows, _window_rows(r, RETURN_VERSIONS, windows), strict=True):
        base = _base(r, ("qty", "reason", "requested_ts", "received_ts", "disposition", "refund"), rows)
        line = r["line"][rows]
        base = base.with_columns(**{k: b[k][line] for k in ("day", "seq", "line", "sku")})
        v = _versions(base, window, RETURN_VERSIONS)
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
        yield _conform("returns", v)


def inventory(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
    n_wh = len(res.warehouses)
    end = np.repeat(res.products.end_day, n_wh)[None, :]
    ids = _Ids(res)
    for first_day, last_day in windows:
        on_hand, reserved = res.on_hand[first_day : last_day + 1], res.reserved[first_day : last_day + 1]
        days = np.arange(first_day, first_day + on_hand.shape[0])[:, None]
        # A sku gets a bin at its first receipt; a discontinued one leaves when its last unit has gone.
        present = (days >= res.stocked_from[None, :]) & ((days < end) | (on_hand > 0))
        d, s = np.nonzero(present)
        v = pl.DataFrame(
            {FILE_DAY: d + first_day, "s": s, "on_hand_qty": on_hand[d, s], "reserved_qty": reserved[d, s]}
        )
        v = v.with_columns(
            snapshot_date=ids.date(FILE_DAY),
            warehouse_id=ids.warehouse(pl.col("s") % n_wh),
            sku=ids.sku(pl.col("s") // n_wh),
        )
        yield _conform("inventory", v)


def _master(feed: str, res: SimResult, windows: Sequence[Window], v: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """Master rows of the days written, stamped with the nightly export time of their day."""
    v = v.filter(pl.col(FILE_DAY) < res.world.n_days).sort(FILE_DAY, maintain_order=True)
    exported = _Ids(res).ts(pl.col(FILE_DAY) * DAY_SECONDS + MASTER_SYNC)
    v = v.with_columns(updated_at=exported)
    for window in windows:
        yield _conform(feed, v.filter(pl.col(FILE_DAY).is_between(*window)))


def products(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
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
    return _master("products", res, windows, v)


def suppliers(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
    s = res.suppliers
    return _master(
        "suppliers",
        res,
        windows,
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


def warehouses(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
    w = res.warehouses
    return _master(
        "warehouses",
        res,
        windows,
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


def work_centers(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
    plant = res.plant
    return _master(
        "work_centers",
        res,
        windows,
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


def bill_of_materials(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
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
    return _master("bill_of_materials", res, windows, v)


WORK_ORDER_FIELDS = ("day", "seq", "sku", "wh", "center", "qty", "planned_start", "planned_finish", "status")
WORK_ORDER_FIELDS += ("created_ts", "released_ts", "start_ts", "finish_ts", "cancelled_ts")
WORK_ORDER_FIELDS += ("produced", "scrapped", "hours", "reason", "defect_sku")
WORK_ORDER_VERSIONS: tuple[Version, ...] = (
    (None, "planned", "created_ts"),
    (lambda c: c("status") == RELEASED, "released", "released_ts"),
    (lambda c: c("status") == RELEASED, "in_progress", "start_ts"),
    (lambda c: c("status") == RELEASED, "completed", "finish_ts"),
    (lambda c: c("status") == WO_CANCELLED, "cancelled", "cancelled_ts"),
)


def work_orders(res: SimResult, windows: Sequence[Window]) -> Iterator[pl.DataFrame]:
    w, ids = res.work_orders, _Ids(res)
    for v in _windowed_versions(w, WORK_ORDER_FIELDS, WORK_ORDER_VERSIONS, windows):
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
        yield _conform("work_orders", v)


Builder = Callable[[SimResult, Sequence[Window]], Iterator[pl.DataFrame]]
BUILDERS: dict[str, Builder] = {
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
