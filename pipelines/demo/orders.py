"""Customer orders of one day: how many per pool, their lines, skus, quantities and prices.

All pools are drawn together (one vector per attribute); only the customer draw goes pool by pool,
because each pool keeps its own running weights (see customers.py).
"""

from __future__ import annotations

import numpy as np

from .arrays import Columns, cumcount
from .calendars import SIX_DAY_WEEK, Calendars
from .config import DAY_SECONDS
from .customers import ALL_REGIONS, REMOTE_REGIONS, Pool
from .demand import Demand
from .masters import Products, WarehouseSpec

CUTOFF_SECONDS = 14 * 3600  # orders placed before 14:00 UTC can leave the same day
CANCEL_SHARE = 0.012  # lines a B2C customer cancels soon after ordering
NO_CANCEL = np.iinfo(np.int64).max
_REMOTE = np.isin(np.array(ALL_REGIONS), REMOTE_REGIONS)

LINE_FIELDS: dict[str, type] = {
    # set when the line is created
    "day": np.int32,
    "seq": np.int32,
    "line": np.int16,
    "pool": np.int8,
    "customer": np.int64,
    "region": np.int16,
    "wh": np.int8,
    "sku": np.int32,
    "series": np.int32,
    "qty": np.int32,
    "price": np.int64,
    "order_ts": np.int64,
    "promised": np.int32,
    "ready": np.int32,
    "partial_ok": np.bool_,
    "cancel_at": np.int64,
    "max_wait": np.int16,
    # per-order uniforms: the lines of one parcel share carrier, lateness and delivery time
    "u_carrier": np.float64,
    "u_late": np.float64,
    "u_transit": np.float64,
    # outcome, filled in as the line is shipped, delivered or cancelled
    "status": np.int8,
    "shipped_qty": np.int32,
    "shipped_ts": np.int64,
    "delivered_ts": np.int64,
    "carrier": np.int8,
    "ship_cost": np.int64,
    "cancelled_ts": np.int64,
}
# Read only while a line is open (to allocate, ship or cancel it), never by the feeds: the book keeps
# them for the lines in play only (see Columns), not for every line of the run.
OPEN_LINE_FIELDS = ("series", "ready", "partial_ok", "cancel_at", "max_wait", "u_carrier", "u_late", "u_transit")
OPEN, SHIPPED, CANCELLED = 0, 1, 2


def new_order_book() -> Columns:
    return Columns(LINE_FIELDS, capacity=4096, working=OPEN_LINE_FIELDS)


class PoolTable:
    """The pools' channel parameters as arrays indexed by pool, for drawing all pools at once."""

    def __init__(self, pools: tuple[Pool, ...], whs: tuple[WarehouseSpec, ...]) -> None:
        specs = [p.spec for p in pools]
        self.pools = pools
        self.wh = np.array([p.warehouse for p in pools])
        self.share = np.array([p.share for p in pools])
        lines_p = np.array([s.lines_p for s in specs])
        self.lines_cdf = np.cumsum(lines_p, axis=1)
        self.units_per_order = np.array([s.mean_qty for s in specs]) * (lines_p @ np.arange(1, 5))
        self.weekly = np.array([s.weekly for s in specs])
        hours = np.array([s.hours for s in specs], dtype=float)
        self.hours_cdf = np.cumsum(hours / hours.sum(axis=1, keepdims=True), axis=1)
        self.wholesale = np.array([p.channel == "wholesale" for p in pools])
        self.extra_units = np.array([s.extra_units for s in specs])
        self.price_factor = np.array([s.price_factor for s in specs])
        self.partial_ok = np.array([s.partial_ok for s in specs])
        self.max_wait = np.array([s.max_wait for s in specs])
        self.promise = np.array([s.promise_days for s in specs])
        self.country = np.array([whs[p.warehouse].country for p in pools])


def _inverse_cdf(u: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """Category index for each uniform, each row of cdf its own distribution."""
    return (u[:, None] >= cdf).sum(axis=1).clip(max=cdf.shape[1] - 1)


def create_orders(
    day: int, r: np.random.Generator, pt: PoolTable, demand: Demand, products: Products, cal: Calendars
) -> dict[str, np.ndarray]:
    """All order lines placed on `day`, as columns of LINE_FIELDS (orders numbered by time)."""
    lam = demand.lam[day]  # (n_sku, n_wh)
    n_sku, n_wh = lam.shape
    totals = lam.sum(axis=0)
    expected = totals[pt.wh] * pt.share * pt.weekly[:, cal.dow[day]] / pt.units_per_order
    n_orders = r.poisson(expected)
    if n_orders.sum() == 0:
        return {}
    pool = np.repeat(np.arange(len(pt.pools)), n_orders)
    n = pool.size
    u = r.random((5, n))
    n_lines = 1 + _inverse_cdf(u[0], pt.lines_cdf[pool])
    secs = _inverse_cdf(u[1], pt.hours_cdf[pool]) * 3600 + r.integers(0, 3600, size=n)
    customer, region = np.empty(n, np.int64), np.empty(n, np.int64)
    for p, count in enumerate(n_orders):  # six pools: each keeps its own running weights
        if count:
            at = pool == p
            who = pt.pools[p].sample(r, day, int(count))
            customer[at], region[at] = pt.pools[p].ids[who], pt.pools[p].region[who]

    # Lines: skus drawn in proportion to the day's demand at the order's warehouse.
    order = np.repeat(np.arange(n), n_lines)
    wh = pt.wh[pool[order]]
    share = np.cumsum(lam, axis=0) / np.where(totals > 0, totals, 1)
    stacked = (share + np.arange(n_wh)).T.ravel()  # warehouse w's shares live in [w, w + 1]
    sku = np.searchsorted(stacked, wh + r.random(order.size), side="right") - wh * n_sku
    sku = sku.clip(0, n_sku - 1)
    # One line per sku within an order.
    first = np.sort(np.unique(order * n_sku + sku, return_index=True)[1])
    order, sku, wh = order[first], sku[first], wh[first]
    m = order.size
    lp = pool[order]
    # Consumers buy one or two; trade customers buy lumpy quantities (mean about 11).
    b2c_qty = 1 + r.poisson(pt.extra_units[lp])
    qty = np.where(pt.wholesale[lp], np.maximum(r.negative_binomial(2, 0.15, size=m), 1), b2c_qty)

    # Number the day's orders by time; ties by pool and draw order, so it is stable.
    by_time = np.lexsort((np.arange(n), secs))
    seq_of_order = np.empty(n, np.int64)
    seq_of_order[by_time] = np.arange(1, n + 1)
    seq = seq_of_order[order]
    rows = np.argsort(seq, kind="stable")  # lines of an order keep the order they were drawn in
    order, sku, wh, lp, qty, seq = order[rows], sku[rows], wh[rows], lp[rows], qty[rows], seq[rows]
    line = cumcount(seq) + 1

    order_ts = day * DAY_SECONDS + secs[order]
    late_order = secs[order] >= CUTOFF_SECONDS
    promise = pt.promise[lp] + _REMOTE[region[order]]
    promised = np.empty(m, np.int64)
    for country in np.unique(pt.country):  # at most two countries
        at = pt.country[lp] == country
        promised[at] = cal.business_day(str(country), day + late_order[at], promise[at], SIX_DAY_WEEK)
    price = np.round(products.price[day, sku] * (1 - demand.discount[day, sku]) * pt.price_factor[lp])
    cancels = (r.random(m) < CANCEL_SHARE) & ~pt.wholesale[lp]
    delay = 60 + r.exponential(5 * 3600, size=m).astype(np.int64)
    return {
        "day": np.full(m, day),
        "seq": seq,
        "line": line,
        "pool": lp,
        "customer": customer[order],
        "region": region[order],
        "wh": wh,
        "sku": sku,
        "series": sku * n_wh + wh,
        "qty": qty,
        "price": price.astype(np.int64),
        "order_ts": order_ts,
        "promised": promised,
        "ready": day + late_order,
        "partial_ok": r.random(m) < pt.partial_ok[lp],
        "cancel_at": np.where(cancels, order_ts + delay, NO_CANCEL),
        "max_wait": pt.max_wait[lp],
        "u_carrier": u[2][order],
        "u_late": u[3][order],
        "u_transit": u[4][order],
    }
