"""The day-by-day simulation: one consistent world behind all the feeds (the Make feeds too).

Each day, in this order: supplier receipts are put away; customers place orders; lines whose
customer cancelled are dropped; stock is allocated and parcels leave; backorders that waited too
long are cancelled; completed work orders put their output away and consume their components; the
end-of-day snapshot is taken; the production planner creates and releases work orders; the buyer
reviews stock and raises POs.
Everything a later day needs (delivery dates, returns, receipt dates) is decided when its cause
happens, from that day's random streams, so a longer run never changes an earlier day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import Columns, put_row
from .calendars import FIVE_DAY_WEEK, SIX_DAY_WEEK, build_calendars
from .config import Stream, World, rng
from .customers import Pool, build_pools
from .demand import build_demand
from .fulfilment import cancel_requested, cancel_waiting, ship
from .masters import Products, Suppliers, WarehouseSpec, build_products, build_suppliers, warehouses
from .orders import PoolTable, create_orders, new_order_book
from .plant import Plant, build_plant, plant_demand
from .production import committed, finish, new_shop, plan, release
from .replenishment import COVER_DAYS, init_planner, new_po_book, reorder
from .returns import new_returns, schedule_returns


@dataclass(frozen=True)
class SimResult:
    world: World
    warehouses: tuple[WarehouseSpec, ...]
    suppliers: Suppliers
    products: Products
    pools: tuple[Pool, ...]
    lines: Columns  # order lines, with their final outcome
    purchase_orders: Columns
    returns: Columns
    on_hand: np.ndarray  # (n_days, n_series) end of day
    reserved: np.ndarray  # (n_days, n_series)
    stocked_from: np.ndarray  # (n_series,) first day the warehouse held or received the sku
    plant: Plant | None = None  # the manufacturer's side (None in a pure trader)
    work_orders: Columns | None = None


def simulate(world: World) -> SimResult:
    whs = warehouses(world)
    n_wh = len(whs)
    suppliers = build_suppliers(world)
    products = build_products(world, suppliers)
    cal = build_calendars(world, tuple(w.country for w in whs))
    demand = build_demand(world, cal, products, whs)
    plant = None
    if world.make:
        plant, products, suppliers = build_plant(world, products, suppliers, whs)
        demand, plant = plant_demand(demand, plant, products, whs, COVER_DAYS[products.abc].astype(float))
    pools = build_pools(world, whs)
    pool_table = PoolTable(pools, whs)
    planner, on_hand = init_planner(world, demand, products, suppliers, n_wh)
    ships = np.stack(
        [cal.is_workday(w.country, SIX_DAY_WEEK if w.operator == "3pl" else FIVE_DAY_WEEK) for w in whs], axis=1
    )
    book, pos, rets = new_order_book(), new_po_book(), new_returns()
    n_series = on_hand.size
    # Stock levels are far inside int32; put_row widens a history to int64 should one ever not be.
    hist_on_hand = np.zeros((world.n_days, n_series), np.int32)
    hist_reserved = np.zeros((world.n_days, n_series), np.int32)
    open_idx = np.zeros(0, np.int64)
    shop = new_shop(plant, world.n_days, n_series, n_wh, whs, cal) if plant else None
    for day in range(world.n_days):  # vectorised across skus x warehouses within the day
        key = world.day_ordinal(day)
        on_hand += planner.arrivals[day]
        planner.on_order -= planner.leaving[day]
        new = create_orders(day, rng(world.seed, Stream.ORDERS, key), pool_table, demand, products, cal)
        if new:
            open_idx = np.concatenate([open_idx, book.append(**new)])
        open_idx = cancel_requested(book, open_idx, day)
        shipped, open_idx, waiting = ship(book, open_idx, day, on_hand, ships[day], whs, cal)
        open_idx = cancel_waiting(book, open_idx, waiting, day, rng(world.seed, Stream.FULFIL, key))
        if shipped.size:
            rets.append(
                **schedule_returns(
                    book, shipped, day, rng(world.seed, Stream.RETURNS, key), products, suppliers, pools, whs
                )
            )
        if shop:
            finish(shop, day, on_hand)
        backlog = np.bincount(book.take("series", open_idx), book["qty"][open_idx], minlength=n_series)
        hist_on_hand = put_row(hist_on_hand, day, on_hand)
        # Components allocated to released work orders are reserved like stock allocated to open orders.
        hist_reserved = put_row(hist_reserved, day, np.minimum(on_hand, backlog + shop.allocated if shop else backlog))
        ordered = np.bincount(new["series"], new["qty"], minlength=n_series) if new else np.zeros(n_series)
        if shop:
            # Units promised to work orders count against stock like open customer orders: for the
            # sub-assemblies the production planner makes, and for the parts the buyer orders.
            r = rng(world.seed, Stream.MAKE, key)
            promised = backlog + committed(shop, n_wh)
            ordered = ordered + plan(
                day, world.date_of(day), r, shop, planner, on_hand, promised, demand, products, whs, cal
            )
            release(day, r, shop, planner, on_hand, products, suppliers, n_wh)
            backlog = backlog + committed(shop, n_wh)
        planner.observe(ordered)
        po = reorder(
            day,
            world.date_of(day),
            rng(world.seed, Stream.REPLENISH, key),
            planner,
            on_hand,
            backlog,
            demand,
            products,
            suppliers,
            whs,
            cal,
        )
        if po:
            pos.append(**po)
        book.release_before(int(open_idx.min()) if open_idx.size else book.n)  # closed lines are done
    for store in (book, pos, rets, *((shop.book,) if shop else ())):
        store.trim()
    held = (hist_on_hand > 0) | (planner.arrivals > 0)
    stocked_from = np.where(held.any(axis=0), held.argmax(axis=0), world.n_days)
    return SimResult(
        world,
        whs,
        suppliers,
        products,
        pools,
        book,
        pos,
        rets,
        hist_on_hand,
        hist_reserved,
        stocked_from,
        plant,
        shop.book if shop else None,
    )
