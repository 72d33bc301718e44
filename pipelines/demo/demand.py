"""Expected demand per day, sku and warehouse, and the promotions and price cuts behind it.

lam[day, sku, wh] = base volume (Pareto-like spread) x regional taste x warehouse share
  x category season, weekday and trend x the warehouse country's holidays and retail events
  x promotion lift x life cycle (launch ramp, clearance, discontinuation) x slow sku-level drift.
Orders are drawn around it, so long-tail skus have many zero days without any extra machinery.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .arrays import ranges
from .calendars import Calendars, black_friday
from .config import WORLD_START, Stream, World, rng
from .masters import CATEGORIES, Products, WarehouseSpec

BUSINESS_GROWTH = 0.12  # yearly growth of the whole business
PROMO_DISCOUNTS = np.array([0.10, 0.15, 0.20, 0.25, 0.30])
CLEARANCE_LIFT = 1.6
LAUNCH_RAMP_DAYS = 30


@dataclass(frozen=True)
class Demand:
    lam: np.ndarray  # (horizon, n_sku, n_wh) expected units
    cum: np.ndarray  # (horizon + 1, n_sku * n_wh) running sum of lam, for look-ahead means
    discount: np.ndarray  # (horizon, n_sku) promotion discount on the list price


def _season(world: World, cal: Calendars) -> np.ndarray:
    """(horizon, n_cat) yearly season x pre-Christmas run-up x the lull after it x weekday x trend."""
    peak = np.array([c.peak_doy for c in CATEGORIES])
    amp = np.array([c.season for c in CATEGORIES])
    xmas = np.array([c.xmas for c in CATEGORIES])
    growth = np.array([c.growth for c in CATEGORIES])
    weekly = np.array([c.weekly for c in CATEGORIES])  # (n_cat, 7)
    yearly = 1 + amp * np.cos(2 * np.pi * (cal.doy[:, None] - peak) / 365.25)
    # Gift buying ramps from late November to the last safe shipping days (21 Dec), then stops.
    xd = cal.from_christmas[:, None]
    run_up = np.where(xd <= -4, np.clip(1 + (xd + 4) / 31, 0, 1), np.where(xd < 0, 0.3, 0.0))
    lull = np.where(xd >= 0, 0.65, 1.0)
    years = (np.arange(world.horizon) - world.day_index(WORLD_START)) / 365.25
    trend = (1 + BUSINESS_GROWTH + growth) ** years[:, None]
    return yearly * (1 + xmas * run_up) * lull * weekly.T[cal.dow] * trend


def _events(cal: Calendars, country: str) -> np.ndarray:
    """(horizon,) multiplier for public holidays and retail events in one country."""
    f = np.where(cal.is_holiday[country], 1.15, 1.0)
    bf = cal.from_black_friday
    f = np.where((bf >= -4) & (bf < 0), 1.2, f)
    f = np.where(bf == 0, 2.6, f)
    f = np.where((bf == 1) | (bf == 2), 1.5, f)
    f = np.where(bf == 3, 2.0, f)  # Cyber Monday
    if country == "GB":
        f = np.where(cal.from_christmas == 1, 1.5, f)  # Boxing Day sales
    return f


def _promotions(world: World, cal: Calendars, p: Products) -> np.ndarray:
    """(horizon, n_sku) discount: a few sku promotions a year plus a Black Friday event."""
    h, n = world.horizon, len(p.base)
    disc = np.zeros((h, n))
    for year in world.years():  # a handful of years; each vectorised over skus
        r = rng(world.seed, Stream.PROMOS, year)
        first = world.day_index(date(year, 1, 1))
        count = r.poisson(1.3, size=n)
        sku = np.repeat(np.arange(n), count)
        start = first + r.integers(0, 358, size=sku.size)
        length = r.integers(7, 15, size=sku.size)
        pct = r.choice(PROMO_DISCOUNTS, size=sku.size)
        # Black Friday week through Cyber Monday, for about a third of the assortment.
        bf_sku = np.nonzero(r.random(n) < 0.35)[0]
        bf_start = world.day_index(black_friday(year)) - 4
        sku = np.concatenate([sku, bf_sku])
        start = np.concatenate([start, np.full(bf_sku.size, bf_start)])
        length = np.concatenate([length, np.full(bf_sku.size, 8)])
        pct = np.concatenate([pct, r.choice(PROMO_DISCOUNTS[1:], size=n)[bf_sku] + 0.05])
        day = np.repeat(start, length) + ranges(length)
        rows = np.repeat(np.arange(sku.size), length)
        ok = (day >= 0) & (day < h)
        np.maximum.at(disc, (day[ok], sku[rows[ok]]), pct[rows[ok]])
    # A sku on clearance already carries its lowest price; no promotions on top.
    return np.where(np.arange(h)[:, None] >= p.clear_day, 0.0, disc)


def _drift(world: World, n: int) -> np.ndarray:
    """(horizon, n_sku) slow multiplicative drift (log AR(1) by week): no sku is a clean sine wave."""
    weeks = world.horizon // 7 + 1
    blocks = -(-weeks // 52)
    shocks = np.concatenate([rng(world.seed, Stream.NOISE, b).standard_normal((52, n)) for b in range(blocks)])
    level = np.zeros((weeks, n))
    for w in range(1, weeks):  # one vector step per week
        level[w] = 0.85 * level[w - 1] + 0.12 * shocks[w]
    sd2 = 0.12**2 / (1 - 0.85**2)
    return np.exp(level - sd2 / 2)[np.arange(world.horizon) // 7]


def build_demand(world: World, cal: Calendars, p: Products, whs: tuple[WarehouseSpec, ...]) -> Demand:
    h = world.horizon
    days = np.arange(h)[:, None]
    season = _season(world, cal)[:, p.category]  # (h, n_sku)
    discount = _promotions(world, cal, p)
    elasticity = np.array([c.elasticity for c in CATEGORIES])[p.category]
    lift = (1 - discount) ** -elasticity
    ramp = np.clip((days - p.launch_day + 1) / LAUNCH_RAMP_DAYS, 0, 1) ** 0.6
    life = np.where(days >= p.clear_day, CLEARANCE_LIFT, 1.0) * ramp * (days < p.end_day)
    sku_level = season * lift * life * _drift(world, len(p.base)) * p.base  # (h, n_sku)
    share = np.array([w.share for w in whs])
    share = share / share.sum()
    events = np.stack([_events(cal, w.country) for w in whs], axis=1)  # (h, n_wh)
    lam = sku_level[:, :, None] * (p.affinity * share)[None, :, :] * events[:, None, :]
    flat = lam.reshape(h, -1)
    cum = np.zeros((h + 1, flat.shape[1]))
    np.cumsum(flat, axis=0, out=cum[1:])
    return Demand(lam=lam, cum=cum, discount=discount)
