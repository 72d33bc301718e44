"""Picking, shipping and delivering order lines from stock, and cancelling the ones that wait too long.

Stock is allocated first-in-first-out per sku and warehouse: a line ships complete when the stock
left after every earlier line covers it; the first line that does not fit ships what is left if the
customer accepts partial shipments, otherwise it waits (a backorder) and blocks the lines behind it,
as a real allocation queue does. Waiting lines are cancelled after the channel's patience runs out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import Columns, group_cumsum
from .calendars import SIX_DAY_WEEK, Calendars
from .config import DAY_SECONDS
from .customers import ALL_REGIONS, REMOTE_REGIONS
from .masters import WarehouseSpec
from .orders import CANCELLED, SHIPPED

SHIP_START = 15 * 3600  # waves leave from 15:00 to 20:00
WAIT_CANCEL_HAZARD = 0.04  # daily chance a customer gives up on a backordered line
_REMOTE = np.isin(np.array(ALL_REGIONS), REMOTE_REGIONS)


@dataclass(frozen=True)
class Carrier:
    name: str
    weight: dict[str, float]  # share of parcels per country
    transit: int  # business days
    p_late: float
    cost: int  # cents per parcel
    damage: float  # share of parcels arriving damaged


CARRIERS = (
    Carrier("DHL Paket", {"DE": 0.45}, 1, 0.06, 420, 0.004),
    Carrier("DPD", {"DE": 0.25, "GB": 0.30}, 1, 0.09, 450, 0.006),
    Carrier("Hermes", {"DE": 0.20, "GB": 0.20}, 2, 0.16, 330, 0.012),
    Carrier("UPS", {"DE": 0.10, "GB": 0.15}, 1, 0.04, 610, 0.003),
    Carrier("Royal Mail", {"GB": 0.35}, 2, 0.10, 380, 0.007),
)
CARRIER_NAMES = tuple(c.name for c in CARRIERS)


def cancel_requested(book: Columns, open_idx: np.ndarray, day: int) -> np.ndarray:
    """Cancel lines whose customer asked before today's first wave; returns the lines still open."""
    hit = book.take("cancel_at", open_idx) < day * DAY_SECONDS + SHIP_START
    gone = open_idx[hit]
    book.set("status", gone, CANCELLED)
    book.set("cancelled_ts", gone, book.take("cancel_at", gone))
    book.set("shipped_qty", gone, 0)
    return open_idx[~hit]


def _allocate(
    book: Columns, open_idx: np.ndarray, day: int, on_hand: np.ndarray, ships_today: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FIFO per sku and warehouse; returns (lines that ship, units each ships, lines left waiting)."""
    ready = (book.take("ready", open_idx) <= day) & ships_today[book["wh"][open_idx]]
    cand = open_idx[ready]
    series = book.take("series", cand)
    order = np.lexsort((cand, book["order_ts"][cand], series))
    cand, series = cand[order], series[order]
    qty = book["qty"][cand].astype(np.int64)
    upto = group_cumsum(series, qty)  # units needed by this line and every earlier one
    avail = on_hand[series]
    full = upto <= avail
    left = avail - (upto - qty)
    go = full | (~full & (left > 0) & book.take("partial_ok", cand))
    units = np.where(full, qty, left)[go]
    np.subtract.at(on_hand, series[go], units)
    return cand[go], units, cand[~go]


def _dispatch(
    book: Columns, lines: np.ndarray, units: np.ndarray, day: int, whs: tuple[WarehouseSpec, ...], cal: Calendars
) -> None:
    """Carrier, ship and delivery times and cost. The order's uniforms decide carrier, lateness and
    delivery hour, so the lines of one parcel travel together."""
    country = np.array([w.country for w in whs])[book["wh"][lines]]
    u_car, u_late, u_transit = book.take("u_carrier", lines), book.take("u_late", lines), book.take("u_transit", lines)
    remote = _REMOTE[book["region"][lines]]
    carrier = np.zeros(lines.size, dtype=np.int64)
    for ctry in np.unique(country):  # at most two countries
        at = country == ctry
        w = np.array([c.weight.get(str(ctry), 0.0) for c in CARRIERS])
        carrier[at] = np.searchsorted(np.cumsum(w) / w.sum(), u_car[at], side="right")
    p_late = np.array([c.p_late for c in CARRIERS])[carrier]
    late_by = np.where(u_late < p_late, 1 + np.floor(3 * u_late / p_late).astype(np.int64), 0)
    transit = np.array([c.transit for c in CARRIERS])[carrier] + remote + late_by + (u_transit > 0.8)
    delivered = np.zeros(lines.size, dtype=np.int64)
    for ctry in np.unique(country):
        at = country == ctry
        delivered[at] = cal.business_day(str(ctry), np.full(at.sum(), day), transit[at], SIX_DAY_WEEK)
    wave = ((u_car * 104_729) % 1 * 5 * 3600).astype(np.int64)
    drop = ((u_transit * 7_919) % 1 * 11 * 3600).astype(np.int64)  # 08:00 to 19:00
    cost = np.array([c.cost for c in CARRIERS])[carrier] * (0.75 + 0.25 * units**0.85) * (1 + 0.3 * remote)
    book.set("status", lines, SHIPPED)
    book.set("shipped_qty", lines, units)
    book.set("shipped_ts", lines, day * DAY_SECONDS + SHIP_START + wave)
    book.set("delivered_ts", lines, delivered * DAY_SECONDS + 8 * 3600 + drop)
    book.set("carrier", lines, carrier)
    book.set("ship_cost", lines, np.round(cost).astype(np.int64))


def ship(
    book: Columns,
    open_idx: np.ndarray,
    day: int,
    on_hand: np.ndarray,
    ships_today: np.ndarray,
    whs: tuple[WarehouseSpec, ...],
    cal: Calendars,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allocate stock to ready lines and ship them; returns (shipped lines, still open, waiting lines)."""
    lines, units, waiting = _allocate(book, open_idx, day, on_hand, ships_today)
    _dispatch(book, lines, units, day, whs, cal)
    return lines, np.setdiff1d(open_idx, lines, assume_unique=True), waiting


def cancel_waiting(
    book: Columns, open_idx: np.ndarray, waiting: np.ndarray, day: int, r: np.random.Generator
) -> np.ndarray:
    """Cancel backorders past their patience, and some that customers give up on; returns still open."""
    age = day - book["day"][open_idx]
    give_up = np.isin(open_idx, waiting) & (r.random(open_idx.size) < WAIT_CANCEL_HAZARD)
    hit = (age >= book.take("max_wait", open_idx)) | give_up
    gone = open_idx[hit]
    ts = day * DAY_SECONDS + 21 * 3600 + r.integers(0, 3 * 3600, size=gone.size)
    book.set("status", gone, CANCELLED)
    book.set("cancelled_ts", gone, np.maximum(ts, book["order_ts"][gone] + 60))
    book.set("shipped_qty", gone, 0)
    return open_idx[~hit]
