"""Replenishment: a periodic-review (s, S) policy per sku and warehouse, and the suppliers' response.

Each supplier's skus are reviewed on the supplier's weekday. The planner's demand rate blends what it
has seen (an exponentially weighted mean) with what it expects (the seasonal plan: it knows about
promotions and peaks, imperfectly). Suppliers then deliver late, short or with defects at their own
rates, so stockouts come from the same causes as in a real network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.feeds.contract import MAX_LINE_QUANTITY

from .arrays import Columns, cumcount
from .calendars import FIVE_DAY_WEEK, SIX_DAY_WEEK, Calendars
from .config import DAY_SECONDS, Stream, World, rng
from .demand import Demand
from .masters import Products, Suppliers, WarehouseSpec
from .plant import PRODUCTION_LEAD_DAYS

REVIEW_DAYS = 7
SERVICE_Z = np.array([1.4, 1.1, 0.8])  # by ABC class
PLAN_ERROR = 0.35  # log-sd of the planner's view of coming demand, per sku and month
COVER_DAYS = np.array([14, 21, 42])  # order quantity in days of demand, by ABC class
SMOOTHING = 1 / 21
PO_CANCEL_SHARE = 0.015
PO_FIELDS: dict[str, type] = {
    "day": np.int32,
    "seq": np.int32,
    "line": np.int32,
    "supplier": np.int32,
    "sku": np.int32,
    "wh": np.int8,
    "qty": np.int32,
    "cost": np.int64,
    "promised": np.int32,
    "order_ts": np.int64,
    "cancelled": np.bool_,
    "event_day": np.int32,
    "event_ts": np.int64,
    "received_qty": np.int32,
    "rejected_qty": np.int32,
}


@dataclass
class Planner:
    on_order: np.ndarray  # (S,) units ordered, not yet received or cancelled
    ewma: np.ndarray  # (S,) smoothed daily units ordered
    ewvar: np.ndarray
    arrivals: np.ndarray  # (n_days, S) units put away (received - rejected) per day
    leaving: np.ndarray  # (n_days, S) units leaving on_order per day (received or cancelled)
    errors: dict[int, np.ndarray]  # year -> (12, S) factor on the demand the planner expects

    def plan_error(self, when: date) -> np.ndarray:
        return self.errors[when.year][when.month - 1]

    def observe(self, units: np.ndarray) -> None:
        delta = units - self.ewma
        self.ewma += SMOOTHING * delta
        self.ewvar += SMOOTHING * (delta * delta - self.ewvar)


def levels(
    day: int,
    when: date,
    demand: Demand,
    products: Products,
    lead: np.ndarray,
    planner: Planner,
    n_wh: int,
    series: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reorder point s and order-up-to level S on `day` (calendar date `when`) for every series, or for the
    given `series` only (`lead` then holds theirs)."""
    window = lead + REVIEW_DAYS
    end = np.minimum(day + window, demand.cum.shape[0] - 1)
    if series is None:
        series = np.arange(lead.size)
        error, ewma, ewvar = planner.plan_error(when), planner.ewma, planner.ewvar
        new = np.repeat(day < products.launch_day + 60, n_wh)
        abc = np.repeat(products.abc, n_wh)
    else:
        error, ewma, ewvar = planner.plan_error(when)[series], planner.ewma[series], planner.ewvar[series]
        new = day < products.launch_day[series // n_wh] + 60
        abc = products.abc[series // n_wh]
    look = (demand.cum[end, series] - demand.cum[day, series]) / window * error
    rate = np.where(new, look, 0.5 * ewma + 0.5 * look)
    sigma = np.sqrt(np.maximum(ewvar, rate))
    s = rate * window + SERVICE_Z[abc] * sigma * np.sqrt(window)
    return s, s + rate * COVER_DAYS[abc]


def init_planner(
    world: World, demand: Demand, products: Products, suppliers: Suppliers, n_wh: int
) -> tuple[Planner, np.ndarray]:
    """Planner state and opening stock: enough for the lead time and half an order cycle."""
    size, n_days = demand.cum.shape[1], world.n_days
    first = (demand.cum[28] - demand.cum[0]) / 28
    errors = {}
    for year in world.years():  # one error per sku and calendar month, the same in every warehouse
        shocks = rng(world.seed, Stream.PLANNING, year).standard_normal((12, size // n_wh))
        errors[year] = np.repeat(np.exp(PLAN_ERROR * shocks - PLAN_ERROR**2 / 2), n_wh, axis=1)
    planner = Planner(
        np.zeros(size, np.int64),
        first.copy(),
        first * 3,
        np.zeros((n_days, size), np.int64),
        np.zeros((n_days, size), np.int64),
        errors,
    )
    lead = suppliers.lead[np.repeat(products.supplier[0], n_wh)]
    if products.made is not None:  # made skus are replenished by the plant, in its lead time
        lead = np.where(np.repeat(products.made, n_wh), PRODUCTION_LEAD_DAYS, lead)
    s, big_s = levels(0, world.origin, demand, products, lead, planner, n_wh)
    live = np.repeat((products.create_day <= 0) & (products.launch_day <= 0), n_wh)
    on_hand = np.where(live, np.ceil(s + 0.5 * (big_s - s)), 0).astype(np.int64)
    return planner, on_hand


def _order_lines(
    day: int,
    when: date,
    planner: Planner,
    on_hand: np.ndarray,
    backlog: np.ndarray,
    demand: Demand,
    products: Products,
    suppliers: Suppliers,
    cal: Calendars,
    n_wh: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(series, units) to order today: reviewed skus whose inventory position fell below s."""
    sup_of = np.repeat(products.supplier[day], n_wh)
    sku = np.arange(sup_of.size) // n_wh
    reviewing = (suppliers.review_dow == cal.dow[day]) & (suppliers.onboard_day <= day)
    plannable = (products.create_day[sku] <= day) & (day < products.clear_day[sku]) & reviewing[sup_of]
    if products.made is not None:  # made skus are replenished by work orders
        plannable &= ~products.made[sku]
    if not plannable.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    s, big_s = levels(day, when, demand, products, suppliers.lead[sup_of], planner, n_wh)
    position = on_hand + planner.on_order - backlog
    series = np.nonzero(plannable & (position < s) & (big_s > 0.2))[0]
    pack = products.case_pack[sku[series]]
    units = np.maximum(np.ceil((big_s[series] - position[series]) / pack), 1) * pack
    # A line stays within the contract's plausible quantity (a larger one is quarantined as a typo): the
    # buyer orders the most whole packs it allows, and the rest at the next review.
    units = np.minimum(units, MAX_LINE_QUANTITY // pack * pack)
    return series, units.astype(np.int64)


def _deliveries(
    day: int,
    r: np.random.Generator,
    sup: np.ndarray,
    wh: np.ndarray,
    suppliers: Suppliers,
    whs: tuple[WarehouseSpec, ...],
    cal: Calendars,
) -> tuple[np.ndarray, np.ndarray]:
    """(promised day, receipt day) per PO: on time (up to two days early) or late by the supplier's
    habit, and only on the receiving warehouse's working days."""
    n = sup.size
    promised, received = np.empty(n, np.int64), np.empty(n, np.int64)
    on_time = r.random(n) < suppliers.on_time[sup]
    early = r.integers(0, 3, size=n)
    late_days = r.geometric(1 / suppliers.late_mean[sup])
    for w in np.unique(wh):  # at most four warehouses
        at = wh == w
        ctry, mask = whs[w].country, SIX_DAY_WEEK if whs[w].operator == "3pl" else FIVE_DAY_WEEK
        promised[at] = cal.business_day(ctry, day + suppliers.lead[sup[at]], 0, mask)
        early_day = cal.business_day(ctry, np.maximum(promised[at] - early[at], day + 1), 0, mask)
        late_day = cal.business_day(ctry, promised[at], late_days[at], mask)
        received[at] = np.where(on_time[at], np.minimum(early_day, promised[at]), late_day)
    return promised, received


def reorder(
    day: int,
    when: date,
    r: np.random.Generator,
    planner: Planner,
    on_hand: np.ndarray,
    backlog: np.ndarray,
    demand: Demand,
    products: Products,
    suppliers: Suppliers,
    whs: tuple[WarehouseSpec, ...],
    cal: Calendars,
) -> dict[str, np.ndarray] | None:
    """Raise today's POs (one per supplier and warehouse) and schedule what each line brings in."""
    n_wh = len(whs)
    series, qty = _order_lines(day, when, planner, on_hand, backlog, demand, products, suppliers, cal, n_wh)
    if series.size == 0:
        return None
    n = series.size
    sku, wh = series // n_wh, series % n_wh
    sup = products.supplier[day, sku]
    keys, po = np.unique(sup * n_wh + wh, return_inverse=True)
    promised, received = _deliveries(day, r, keys // n_wh, keys % n_wh, suppliers, whs, cal)
    batch_defect = np.minimum(suppliers.defect[keys // n_wh] * np.exp(r.normal(0, 0.7, size=keys.size)), 0.5)
    complete = r.random(n) < suppliers.in_full[sup]
    got = np.where(complete, qty, np.floor(qty * r.uniform(0.55, 0.97, size=n))).astype(np.int64)
    rejected = r.binomial(got, batch_defect[po])
    cancelled = r.random(n) < PO_CANCEL_SHARE
    cancel_day = day + 1 + np.floor(r.random(n) * (promised[po] - day - 1)).astype(np.int64)
    event_day = np.where(cancelled, cancel_day, received[po])
    # Receipts are put away in the morning, before the day's shipping waves.
    hour = np.where(cancelled, 10 * 3600 + r.integers(0, 6 * 3600, size=n), 7 * 3600 + r.integers(0, 4 * 3600, size=n))

    planner.on_order[series] += qty
    inside = event_day < planner.arrivals.shape[0]  # later events happen after the simulated days
    np.add.at(planner.leaving, (event_day[inside], series[inside]), qty[inside])
    put_away = np.where(cancelled, 0, got - rejected)
    np.add.at(planner.arrivals, (event_day[inside], series[inside]), put_away[inside])
    return {
        "day": np.full(n, day),
        "seq": po + 1,
        "line": cumcount(po) + 1,
        "supplier": sup,
        "sku": sku,
        "wh": wh,
        "qty": qty,
        "cost": products.cost[day, sku],
        "promised": promised[po],
        "order_ts": day * DAY_SECONDS + 6 * 3600 + r.integers(0, 3 * 3600, size=n),
        "cancelled": cancelled,
        "event_day": event_day,
        "event_ts": event_day * DAY_SECONDS + hour,
        "received_qty": np.where(cancelled, 0, got),
        "rejected_qty": np.where(cancelled, 0, rejected),
    }


def new_po_book() -> Columns:
    return Columns(PO_FIELDS, capacity=1024)
