"""Work orders: released by a reorder policy on the made skus' stock, queued on finite work centers.

Every night the production planner reviews each made sku at each site with the same (s, S) policy as the
buyer (lead time: the planned production time); a sku below s gets a work order up to S (at most a day
of its center), grossed up by its scrap allowance. Its planned dates assume the center is free but for a
short queue (infinite-capacity planning, as an MRP run does). A work order is released once every
component is free to allocate (in the order they were planned: one short of a part holds back the later
ones that need it, unless it could not have it even alone) and then waits in its center's queue: the
center works its capacity hours each working day, so a center loaded beyond it starts and finishes
orders late. Scrap, labour hours and breakdowns are drawn at release; finished units are put away and
components consumed (quantity_per x (produced + scrapped)) at the end of the day the order completes.
A few planned orders are dropped by the planner, and one that waits too long for its parts is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.feeds.contract import SCRAP_REASONS

from .arrays import Columns, group_cumsum, ranges
from .calendars import FIVE_DAY_WEEK, Calendars
from .config import DAY_SECONDS
from .demand import Demand
from .masters import Products, Suppliers, WarehouseSpec
from .plant import ESCAPE, MAX_LOT_DAYS, PRODUCTION_LEAD_DAYS, Plant
from .replenishment import Planner, levels

QUEUE_ALLOWANCE_DAYS = 3  # working days the planned finish allows for the queue ahead of an order
WO_CANCEL_SHARE = 0.02  # planned orders the planner drops again
MAX_WAIT_DAYS = 60  # a planned order still short of components this long is cancelled (and re-planned)
SHIFT_START, SHIFT_SECONDS = 6 * 3600, 16 * 3600  # two shifts, 06:00 to 22:00
PENDING, RELEASED, CANCELLED = 0, 1, 2
NONE = -1
REASON = {r: i for i, r in enumerate(SCRAP_REASONS)}
WO_FIELDS: dict[str, type] = {
    "day": np.int32,
    "seq": np.int32,
    "sku": np.int32,
    "wh": np.int8,
    "center": np.int16,
    "qty": np.int32,
    "created_ts": np.int64,
    "planned_start": np.int32,
    "planned_finish": np.int32,
    "status": np.int8,
    "released_ts": np.int64,
    "start_ts": np.int64,
    "finish_ts": np.int64,
    "cancelled_ts": np.int64,
    "produced": np.int32,
    "scrapped": np.int32,
    "hours": np.float64,
    "reason": np.int8,
    "defect_sku": np.int32,
}


@dataclass
class Shop:
    plant: Plant
    book: Columns
    pending: np.ndarray  # work orders waiting for components, in release priority
    allocated: np.ndarray  # (S,) component units allocated to released orders, not yet consumed
    clock: np.ndarray  # (n_wc,) working hours since the origin up to which each center is booked
    cols: np.ndarray  # the series production touches: made skus and their components at the sites
    col_of: np.ndarray  # (S,) position of a series in cols (-1: none)
    output: np.ndarray  # (n_days, cols) good units put away at the end of each day
    consume: np.ndarray  # (n_days, cols) component units consumed at the end of each day
    workdays: dict[int, np.ndarray]  # site -> its working days (simulation days) over the horizon
    made_series: np.ndarray  # series (sku x site) the planner reviews


def new_shop(
    plant: Plant, n_days: int, n_series: int, n_wh: int, whs: tuple[WarehouseSpec, ...], cal: Calendars
) -> Shop:
    sku, wh = np.nonzero(plant.center_of >= 0)
    made_series = np.sort(sku * n_wh + wh)
    cols = np.unique(np.r_[made_series, (plant.child[:, None] * n_wh + np.array(plant.sites)[None, :]).ravel()])
    col_of = np.full(n_series, -1)
    col_of[cols] = np.arange(cols.size)
    return Shop(
        plant=plant,
        book=Columns(WO_FIELDS, capacity=1024),
        pending=np.zeros(0, np.int64),
        allocated=np.zeros(n_series, np.int64),
        clock=np.zeros(plant.capacity.size),
        cols=cols,
        col_of=col_of,
        output=np.zeros((n_days, cols.size), np.int64),
        consume=np.zeros((n_days, cols.size), np.int64),
        workdays={s: np.flatnonzero(cal.is_workday(whs[s].country, FIVE_DAY_WEEK)) for s in plant.sites},
        made_series=made_series,
    )


def finish(shop: Shop, day: int, on_hand: np.ndarray) -> None:
    """End of day: completed orders' output in, their components out (and no longer allocated)."""
    on_hand[shop.cols] += shop.output[day] - shop.consume[day]
    shop.allocated[shop.cols] -= shop.consume[day]


def committed(shop: Shop, n_wh: int) -> np.ndarray:
    """(S,) component units promised to work orders: allocated to released ones, needed by waiting ones
    (the buyer and the production planner count them like a backlog of open orders)."""
    out = shop.allocated.astype(np.float64)
    wo = shop.pending
    if wo.size:
        at, edge = _edges(shop.plant, shop.book["sku"][wo])
        series = shop.plant.child[edge] * n_wh + shop.book["wh"][wo][at]
        np.add.at(out, series, shop.plant.quantity_per[edge] * shop.book["qty"][wo][at])
    return out


def _edges(plant: Plant, sku: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order position, BOM edge) of every component of each order's sku."""
    count = plant.edge_start[sku + 1] - plant.edge_start[sku]
    at = np.repeat(np.arange(sku.size), count)
    return at, plant.edge_start[sku[at]] + ranges(count)


def plan(
    day: int,
    when: date,
    r: np.random.Generator,
    shop: Shop,
    planner: Planner,
    on_hand: np.ndarray,
    backlog: np.ndarray,
    demand: Demand,
    products: Products,
    whs: tuple[WarehouseSpec, ...],
    cal: Calendars,
) -> np.ndarray:
    """Create tonight's work orders; returns the component units they require per series (the demand the
    buyer's planner observes for components)."""
    n_wh, plant = len(whs), shop.plant
    required = np.zeros(on_hand.size)
    series = shop.made_series
    sku = series // n_wh
    live = (products.create_day[sku] <= day) & (day < products.clear_day[sku])
    lead = np.full(series.size, PRODUCTION_LEAD_DAYS)
    s, big_s = levels(day, when, demand, products, lead, planner, n_wh, series)
    position = on_hand[series] + planner.on_order[series] - backlog[series]
    go = live & (position < s) & (big_s > 0.2)
    series, sku = series[go], sku[go]
    if series.size == 0:
        return required
    wh = series % n_wh
    lot = products.case_pack[sku]
    units = np.maximum(np.ceil((big_s[go] - position[go]) / lot), 1) * lot
    allowance = np.nan_to_num(plant.allowance[plant.edge_start[sku]])
    center = plant.center_of[sku, wh]
    # A lot runs at most a few days of its center: more lots, not one that blocks the center for weeks.
    most = (MAX_LOT_DAYS * plant.capacity[center] - plant.setup_hours[sku]) / np.maximum(plant.run_hours[sku], 1e-9)
    units = np.minimum(units, np.maximum(np.floor(most / lot), 1) * lot)
    qty = np.ceil(units / (1 - allowance)).astype(np.int64)
    n = qty.size
    std_hours = plant.setup_hours[sku] + plant.run_hours[sku] * qty
    planned_start = np.empty(n, np.int64)
    planned_finish = np.empty(n, np.int64)
    for w in np.unique(wh):  # the sites: one or two
        at = wh == w
        ctry = whs[w].country
        planned_start[at] = cal.business_day(ctry, np.full(at.sum(), day + 1), 0, FIVE_DAY_WEEK)
        days = np.ceil(std_hours[at] / plant.capacity[center[at]]).astype(np.int64)
        planned_finish[at] = cal.business_day(ctry, planned_start[at], days - 1 + QUEUE_ALLOWANCE_DAYS, FIVE_DAY_WEEK)
    cancelled = r.random(n) < WO_CANCEL_SHARE
    cancel_day = day + r.integers(1, 4, size=n)
    created = day * DAY_SECONDS + 5 * 3600 + r.integers(0, 3600, size=n)
    idx = shop.book.append(
        day=np.full(n, day),
        seq=np.arange(1, n + 1),
        sku=sku,
        wh=wh,
        center=center,
        qty=qty,
        created_ts=created,
        planned_start=planned_start,
        planned_finish=planned_finish,
        status=np.where(cancelled, CANCELLED, PENDING),
        released_ts=np.full(n, NONE),
        start_ts=np.full(n, NONE),
        finish_ts=np.full(n, NONE),
        cancelled_ts=np.where(cancelled, cancel_day * DAY_SECONDS + 10 * 3600 + r.integers(0, 6 * 3600, size=n), NONE),
        reason=np.full(n, NONE),
        defect_sku=np.full(n, NONE),
    )
    planner.on_order[series] += qty
    inside = cancelled & (cancel_day < planner.leaving.shape[0])
    np.add.at(planner.leaving, (cancel_day[inside], series[inside]), qty[inside])
    shop.pending = np.concatenate([shop.pending, idx[~cancelled]])
    at, edge = _edges(plant, sku[~cancelled])
    kept = np.flatnonzero(~cancelled)[at]
    np.add.at(required, plant.child[edge] * n_wh + wh[kept], plant.quantity_per[edge] * qty[kept])
    return required


def _clock_ts(hours: np.ndarray, capacity: np.ndarray, workdays: np.ndarray, end: bool) -> np.ndarray:
    """A position on a center's working-hour clock as seconds since the origin: its working day's shift,
    in proportion (an end exactly at a day's capacity is that day's end of shift, not the next morning)."""
    pos = hours / capacity
    k = (np.ceil(pos) - 1 if end else np.floor(pos)).astype(np.int64)
    k = np.clip(k, 0, workdays.size - 1)
    frac = np.clip(pos - k, 0, 1)
    return workdays[k] * DAY_SECONDS + SHIFT_START + np.round(frac * SHIFT_SECONDS).astype(np.int64)


def _scrap(
    r: np.random.Generator, plant: Plant, products: Products, suppliers: Suppliers, sku, qty, center, at, edge, day
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(scrapped, reason, failed component, breakdown) per order. Each cause scraps units of its own; the
    largest names the order's reason. Component defects follow the component's supplier."""
    n = qty.size
    part = plant.child[edge]
    bought = ~plant.made[part]
    rate = np.where(bought, ESCAPE * suppliers.defect[products.supplier[day, part]], 0.0)
    by_part = r.binomial(qty[at], rate)
    defect = np.bincount(at, by_part, minlength=n).astype(np.int64)
    worst = np.full(n, NONE)
    if at.size:
        order = np.lexsort((-by_part, at))  # the part that failed most, per order
        first = np.r_[True, at[order][1:] != at[order][:-1]]
        worst[at[order][first]] = part[order][first]
    breakdown = r.random(n) < plant.machine_risk[center]
    causes = np.zeros((n, len(SCRAP_REASONS)), np.int64)
    causes[:, REASON["component_defect"]] = defect
    causes[:, REASON["machine"]] = np.where(breakdown, r.binomial(qty, 0.04), 0)
    causes[:, REASON["operator"]] = r.binomial(qty, 0.006)
    first_off = np.minimum(r.integers(1, 4, size=n), np.maximum(qty // 25, 1))  # first-off pieces
    causes[:, REASON["setup"]] = np.where(r.random(n) < 0.25, first_off, 0)
    causes[:, REASON["other"]] = r.binomial(qty, 0.001)
    scrapped = np.minimum(causes.sum(axis=1), qty)
    reason = np.where(scrapped > 0, np.argmax(causes, axis=1), NONE)
    failed = np.where(reason == REASON["component_defect"], worst, NONE)
    return scrapped, reason, failed, breakdown


def release(
    day: int,
    r: np.random.Generator,
    shop: Shop,
    planner: Planner,
    on_hand: np.ndarray,
    products: Products,
    suppliers: Suppliers,
    n_wh: int,
) -> None:
    """Release the waiting orders whose components are all free, allocate them and book their centers."""
    plant, book = shop.plant, shop.book
    wo = shop.pending
    stale = day - book["day"][wo] >= MAX_WAIT_DAYS
    if stale.any():
        gone = wo[stale]
        book.set("status", gone, CANCELLED)
        book.set("cancelled_ts", gone, day * DAY_SECONDS + 10 * 3600 + r.integers(0, 3600, size=gone.size))
        np.subtract.at(planner.on_order, book["sku"][gone] * n_wh + book["wh"][gone], book["qty"][gone])
        wo = wo[~stale]
    if wo.size == 0:
        shop.pending = wo
        return
    sku, wh, qty = book["sku"][wo], book["wh"][wo].astype(np.int64), book["qty"][wo].astype(np.int64)
    at, edge = _edges(plant, sku)
    comp = plant.child[edge] * n_wh + wh[at]
    need = plant.quantity_per[edge] * qty[at]
    free = (on_hand - shop.allocated)[comp]
    # An order that could not get its components even alone does not hold up the ones behind it.
    hopeless = np.bincount(at[need > free], minlength=wo.size) > 0
    queue = ~hopeless[at]
    order = np.flatnonzero(queue)[np.lexsort((at[queue], comp[queue]))]  # per component, in priority order
    upto = group_cumsum(comp[order], need[order])
    short = hopeless[at].copy()
    short[order] = upto > free[order]
    ok = np.bincount(at[short], minlength=wo.size) == 0
    shop.pending = wo[~ok]
    go = wo[ok]
    if go.size == 0:
        return
    keep = ok[at]
    np.add.at(shop.allocated, comp[keep], need[keep])
    sku, wh, qty = sku[ok], wh[ok], qty[ok]
    center = book["center"][go].astype(np.int64)
    at, edge = _edges(plant, sku)
    scrapped, reason, failed, breakdown = _scrap(r, plant, products, suppliers, sku, qty, center, at, edge, day)
    labour = (plant.setup_hours[sku] + plant.run_hours[sku] * qty) * np.exp(r.normal(0, 0.12, size=go.size))
    downtime = r.uniform(0.1, 0.6, size=go.size) * plant.capacity[center]  # a breakdown stops the center
    busy = labour + np.where(breakdown, downtime, 0.0)
    # Queue on each center behind what is booked, from the next working day at the earliest.
    start, end = np.empty(go.size), np.empty(go.size)
    start_ts, finish_ts = np.empty(go.size, np.int64), np.empty(go.size, np.int64)
    by_center = np.lexsort((go, center))
    c_sorted = center[by_center]
    before = group_cumsum(c_sorted, busy[by_center]) - busy[by_center]
    for c in np.unique(center):  # a few centers
        site = int(plant.center_site[c])
        days = shop.workdays[site]
        cap = plant.capacity[c]
        sel = by_center[c_sorted == c]
        free = max(shop.clock[c], np.searchsorted(days, day + 1) * cap)
        start[sel] = free + before[c_sorted == c]
        end[sel] = start[sel] + busy[sel]
        shop.clock[c] = end[sel].max()
        start_ts[sel] = _clock_ts(start[sel], cap, days, end=False)
        finish_ts[sel] = np.maximum(_clock_ts(end[sel], cap, days, end=True), start_ts[sel] + 60)
    book.set("status", go, RELEASED)
    book.set("released_ts", go, day * DAY_SECONDS + 7 * 3600 + r.integers(0, 3600, size=go.size))
    book.set("start_ts", go, start_ts)
    book.set("finish_ts", go, finish_ts)
    book.set("produced", go, qty - scrapped)
    book.set("scrapped", go, scrapped)
    book.set("hours", go, np.round(labour, 2))
    book.set("reason", go, reason)
    book.set("defect_sku", go, failed)

    done = finish_ts // DAY_SECONDS
    inside = done < shop.output.shape[0]
    series = sku * n_wh + wh
    np.add.at(shop.output, (done[inside], shop.col_of[series[inside]]), (qty - scrapped)[inside])
    np.add.at(planner.leaving, (done[inside], series[inside]), qty[inside])
    used = inside[at]
    comp = plant.child[edge] * n_wh + wh[at]
    np.add.at(shop.consume, (done[at][used], shop.col_of[comp[used]]), (plant.quantity_per[edge] * qty[at])[used])
