"""Master data of the world: categories, warehouses, suppliers and products, and how they change.

Static attributes are drawn once per world; prices, costs and primary suppliers are day-by-sku
matrices so that orders and purchase orders read the value that was current on their day, and so
that the product feed can send a new version exactly on the days something changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from .arrays import cumcount
from .config import Stream, World, rng


@dataclass(frozen=True)
class Category:
    name: str
    subcategories: tuple[str, ...]
    nouns: tuple[str, ...]
    share: float  # share of the assortment
    cost: float  # median unit cost
    markup: float  # list price / unit cost
    peak_doy: int  # day of year the yearly season peaks
    season: float  # amplitude of the yearly season
    xmas: float  # extra uplift in the weeks before Christmas
    growth: float  # yearly trend on top of the business's own growth
    weekly: tuple[float, ...]  # Mon..Sun
    return_rate: float  # lines returned because the customer changed their mind or it did not fit
    elasticity: float  # demand lift per price cut: lift = (1 - discount) ** -elasticity


_B2C_WEEK = (1.14, 1.06, 1.0, 0.96, 0.90, 0.80, 1.14)
CATEGORIES: tuple[Category, ...] = (
    Category(
        "Electronics",
        ("Audio", "Accessories", "Smart Home"),
        ("Headphones", "Speaker", "Charger", "USB-C Cable", "Smart Plug", "Power Bank"),
        0.18,
        24.0,
        1.7,
        330,
        0.15,
        0.7,
        0.10,
        _B2C_WEEK,
        0.05,
        2.5,
    ),
    Category(
        "Home & Kitchen",
        ("Cookware", "Storage", "Decor"),
        ("Kettle", "Frying Pan", "Storage Box", "Table Lamp", "Mug Set", "Knife Block"),
        0.20,
        12.0,
        2.2,
        320,
        0.10,
        0.35,
        0.05,
        (1.12, 1.05, 1.0, 0.97, 0.92, 0.84, 1.10),
        0.05,
        2.0,
    ),
    Category(
        "Garden",
        ("Tools", "Watering", "Furniture"),
        ("Garden Hose", "Pruner", "Planter", "Sprinkler", "Garden Chair"),
        0.12,
        15.0,
        2.0,
        135,
        0.75,
        0.0,
        0.03,
        (1.02, 0.97, 0.95, 0.95, 1.0, 1.10, 1.01),
        0.04,
        2.0,
    ),
    Category(
        "Toys",
        ("Games", "Outdoor Toys", "Construction"),
        ("Board Game", "Puzzle", "Building Set", "Kite", "Plush Toy"),
        0.12,
        9.0,
        2.3,
        345,
        0.20,
        1.3,
        0.0,
        _B2C_WEEK,
        0.04,
        3.0,
    ),
    Category(
        "Apparel",
        ("Outerwear", "Basics", "Footwear"),
        ("Jacket", "T-Shirt", "Sneaker", "Hoodie", "Socks 5-Pack"),
        0.16,
        11.0,
        2.6,
        285,
        0.30,
        0.3,
        0.12,
        (1.16, 1.07, 1.0, 0.96, 0.90, 0.78, 1.16),
        0.20,
        2.8,
    ),
    Category(
        "Sports & Outdoor",
        ("Fitness", "Camping", "Cycling"),
        ("Yoga Mat", "Dumbbell Set", "Tent", "Bike Light", "Water Bottle"),
        0.12,
        14.0,
        2.1,
        160,
        0.35,
        0.2,
        0.08,
        _B2C_WEEK,
        0.06,
        2.2,
    ),
    Category(
        "Health & Beauty",
        ("Skincare", "Hair Care", "Wellness"),
        ("Face Cream", "Shampoo", "Hair Dryer", "Massage Gun", "Vitamin Pack"),
        0.10,
        6.0,
        2.8,
        20,
        0.05,
        0.3,
        0.06,
        (1.10, 1.05, 1.0, 0.98, 0.95, 0.86, 1.06),
        0.03,
        1.8,
    ),
)
BRANDS = (
    "Nordvik",
    "Aurelia",
    "Kestrel",
    "Brightwell",
    "Voss",
    "Halden",
    "Lumio",
    "Tidewater",
    "Oakridge",
    "Pelican",
    "Solvay",
    "Fennick",
    "Marlow",
    "Quartzline",
    "Ember & Co",
)


@dataclass(frozen=True)
class WarehouseSpec:
    id: str
    name: str
    region: str
    country: str
    operator: str
    share: float  # share of the network's demand it serves


_WAREHOUSES = {
    "HAM": WarehouseSpec("WH-DE-HAM", "Hamburg DC", "DACH", "DE", "own", 0.38),
    "LEJ": WarehouseSpec("WH-DE-LEJ", "Leipzig Fulfilment (3PL)", "DACH", "DE", "3pl", 0.22),
    "MAN": WarehouseSpec("WH-GB-MAN", "Manchester DC", "UK & Ireland", "GB", "own", 0.24),
    "NHT": WarehouseSpec("WH-GB-NHT", "Northampton Fulfilment (3PL)", "UK & Ireland", "GB", "3pl", 0.16),
}


def warehouses(world: World) -> tuple[WarehouseSpec, ...]:
    keys = ("HAM", "LEJ", "MAN", "NHT") if world.n_warehouses == 4 else ("HAM", "NHT")
    return tuple(_WAREHOUSES[k] for k in keys)


# (country, far-sourcing, name stems, legal suffix); far suppliers ship by sea and are late more often.
_SUPPLIER_ORIGINS = (
    (
        "CN",
        True,
        (
            "Shenzhen Bright",
            "Ningbo Harbour",
            "Guangzhou Everstar",
            "Yiwu Goldleaf",
            "Xiamen Bluewave",
            "Dongguan Precision",
            "Hangzhou Silkroad",
            "Suzhou Jade",
        ),
        "Trading Co.",
    ),
    ("DE", False, ("Müller", "Rheinwerk", "Schwarzwald", "Hanse", "Bergmann", "Nordlicht"), "GmbH"),
    ("PL", False, ("Wisła", "Polmet", "Kraków Craft"), "Sp. z o.o."),
    ("IT", False, ("Fratelli Conti", "Lombarda", "Tessuti Roma"), "S.r.l."),
    ("TR", True, ("Anatolia", "Bosphorus Tekstil"), "A.Ş."),
    ("VN", True, ("Saigon Pacific", "Hanoi Lotus"), "JSC"),
    ("GB", False, ("Pennine", "Thames Valley"), "Ltd"),
    ("NL", False, ("Delftware", "Van Dijk"), "B.V."),
)
_ORIGIN_WEIGHTS = np.array([0.32, 0.16, 0.1, 0.08, 0.08, 0.08, 0.1, 0.08])
ONBOARD_OFFSET = 425  # days after WORLD_START a new, better supplier is onboarded (2025-03-01)


@dataclass(frozen=True)
class Suppliers:
    ids: np.ndarray
    names: np.ndarray
    country: np.ndarray
    payment_terms: np.ndarray
    lead: np.ndarray  # contracted lead time, days
    on_time: np.ndarray  # probability a PO arrives by its promised date
    late_mean: np.ndarray  # mean days late when late
    in_full: np.ndarray  # probability a PO line arrives complete
    defect: np.ndarray  # share of received units failing inbound quality control
    home_category: np.ndarray
    review_dow: np.ndarray  # weekday the buyer reviews this supplier's skus
    onboard_day: np.ndarray  # simulation day the supplier appears in the master


def build_suppliers(world: World) -> Suppliers:
    r = rng(world.seed, Stream.SUPPLIERS)
    n = world.n_suppliers + 1  # the last one is onboarded part-way through
    origin = r.choice(len(_SUPPLIER_ORIGINS), size=n, p=_ORIGIN_WEIGHTS)
    origin[-1] = 2  # the newcomer is a nearby (PL) supplier
    far = np.array([o[1] for o in _SUPPLIER_ORIGINS])[origin]
    stems = np.array([s for o in _SUPPLIER_ORIGINS for s in o[2]])
    stem_count = np.array([len(o[2]) for o in _SUPPLIER_ORIGINS])
    stem_offset = np.cumsum(stem_count) - stem_count
    stem = stems[stem_offset[origin] + r.integers(0, 1_000, size=n) % stem_count[origin]]
    names = np.char.add(np.char.add(stem, " "), np.array([o[3] for o in _SUPPLIER_ORIGINS])[origin])
    # Same stem twice would read as one company: number the repeats.
    rank = cumcount(np.unique(names, return_inverse=True)[1])
    names = np.where(rank > 0, np.char.add(names, np.char.add(" ", (rank + 1).astype(str))), names)
    lead = np.where(far, r.integers(28, 57, size=n), r.integers(4, 16, size=n))
    on_time = np.clip(r.beta(9, 2, size=n), 0.55, 0.98)
    late_mean = np.where(far, r.uniform(3, 10, size=n), r.uniform(1, 4, size=n))
    defect = np.clip(np.exp(r.normal(np.log(0.006), 0.9, size=n)), 0.0003, 0.06)
    on_time[-1], defect[-1], lead[-1] = 0.96, 0.0015, 8
    return Suppliers(
        ids=np.char.add("SUP-", np.char.zfill((np.arange(n) + 1).astype(str), 3)),
        names=names,
        country=np.array([o[0] for o in _SUPPLIER_ORIGINS])[origin],
        payment_terms=r.choice(np.array([14, 30, 30, 45, 60, 60, 90]), size=n),
        lead=lead,
        on_time=on_time,
        late_mean=late_mean,
        in_full=r.uniform(0.84, 0.99, size=n),
        defect=defect,
        home_category=r.integers(0, len(CATEGORIES), size=n),
        review_dow=r.integers(0, 5, size=n),
        onboard_day=np.where(np.arange(n) == n - 1, world.world_day(ONBOARD_OFFSET), 0),
    )


@dataclass(frozen=True)
class Products:
    ids: pl.Series
    names: pl.Series
    category: np.ndarray  # index into CATEGORIES
    subcategory: pl.Series
    base: np.ndarray  # mean units per day over the network, before seasonality
    abc: np.ndarray  # 0 = A, 1 = B, 2 = C by volume
    case_pack: np.ndarray  # units per case: the feed's order_multiple, and what the simulated buyer orders in
    min_order_qty: np.ndarray  # the supplier's minimum order, in units (a whole number of cases, or 0)
    affinity: np.ndarray  # (n_sku, n_wh) regional taste
    launch_day: np.ndarray  # first selling day (simulation day)
    create_day: np.ndarray  # first day in the product master (sourcing starts before launch)
    clear_day: np.ndarray  # clearance (no more reorders, price cut); beyond the horizon if never
    end_day: np.ndarray  # last selling day + 1
    cost: np.ndarray  # (horizon, n_sku) unit cost in cents
    price: np.ndarray  # (horizon, n_sku) list price in cents
    supplier: np.ndarray  # (horizon, n_sku) primary supplier index
    made: np.ndarray | None = None  # (n_sku,) made in-house, not bought: no POs (None in a pure trader)


MEAN_UNITS_PER_SKU = 1.45
NEVER = 10**6


def _price_cents(x: np.ndarray) -> np.ndarray:
    """Retail price points: x.99 above 5, whole ten cents below."""
    return np.where(x >= 5, np.ceil(x) * 100 - 1, np.maximum(np.round(x * 10) * 10, 10)).astype(np.int64)


def _primary_supplier(r: np.random.Generator, sup: Suppliers, cat: np.ndarray) -> np.ndarray:
    """Mostly a supplier whose home category matches; bigger suppliers more often."""
    n_sup = len(sup.ids) - 1  # the newcomer takes skus over later, it does not start with any
    size = 1.0 / np.arange(1, n_sup + 1) ** 0.6
    w = size[None, :] * (1 + 5 * (sup.home_category[None, :n_sup] == cat[:, None]))
    cw = np.cumsum(w, axis=1)
    return (cw < r.random(cat.size)[:, None] * cw[:, -1:]).sum(axis=1)


def _price_history(
    world: World, cost0: np.ndarray, price0: np.ndarray, clear_day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(horizon, n_sku) cost and list price: a yearly review on 1 January, and a clearance price cut."""
    h, n = world.horizon, cost0.size
    cost = np.broadcast_to(cost0, (h, n)).copy()
    price = np.broadcast_to(price0, (h, n)).copy()
    for year in world.years():  # a few reviews, each vectorised over skus
        day = world.day_index(date(year, 1, 1))
        if not 0 < day < h:
            continue
        r = rng(world.seed, Stream.PRICES, year)
        sel = r.random(n) < 0.45
        f = r.uniform(1.02, 1.09, size=n)
        pass_through = 1 + (f - 1) * r.uniform(0.5, 1.3, size=n)
        cost[day:, sel] = np.round(cost[day] * f).astype(np.int64)[sel]
        price[day:, sel] = _price_cents(price[day] * pass_through / 100)[sel]
    on_clearance = np.arange(h)[:, None] >= clear_day
    return cost, np.where(on_clearance, _price_cents(price * 0.7 / 100), price)


def _names(brand: np.ndarray, cat: np.ndarray, noun: np.ndarray, model: np.ndarray) -> pl.Series:
    nouns = pl.Series([x for c in CATEGORIES for x in c.nouns])
    count = np.array([len(c.nouns) for c in CATEGORIES])
    offset = np.cumsum(count) - count
    return pl.select(
        pl.concat_str(
            pl.Series(BRANDS).gather(brand),
            pl.lit(" "),
            nouns.gather(offset[cat] + noun % count[cat]),
            pl.lit(" "),
            pl.Series(np.array(list("KLMRSTVX"))[model % 8]),
            pl.Series(model).cast(pl.String),
        )
    ).to_series()


def _min_order_qty(world: World, case_pack: np.ndarray) -> np.ndarray:
    """Half the skus have no minimum; the others a few cases (more of the small, cheap ones). Drawn from a
    stream of its own, so that the other product attributes stay as they were."""
    r = rng(world.seed, Stream.SKUS, 1)
    cases = np.where(case_pack >= 6, r.integers(2, 6, size=case_pack.size), r.integers(1, 4, size=case_pack.size))
    return np.where(r.random(case_pack.size) < 0.5, 0, cases * case_pack).astype(np.int64)


def build_products(world: World, sup: Suppliers) -> Products:
    r = rng(world.seed, Stream.SKUS)
    n, n_wh, n_cat = world.n_skus, world.n_warehouses, len(CATEGORIES)
    cat = r.choice(n_cat, size=n, p=np.array([c.share for c in CATEGORIES]))
    sub = r.integers(0, 3, size=n)
    noun = r.integers(0, 1_000, size=n)
    brand = r.integers(0, len(BRANDS), size=n)
    model = r.integers(100, 1000, size=n)
    sigma = 1.5  # lognormal spread of volume: the top fifth of skus sells about 70% of units
    base = np.exp(sigma * r.standard_normal(n) - sigma**2 / 2) * MEAN_UNITS_PER_SKU
    cost0 = np.exp(r.normal(np.log([c.cost for c in CATEGORIES])[cat], 0.6))
    cost0 = np.maximum(np.round(cost0 * 100), 40).astype(np.int64)
    markup = np.array([c.markup for c in CATEGORIES])[cat] * np.exp(r.normal(0, 0.12, size=n))
    affinity = np.exp(r.normal(0, 0.35, size=(n, n_wh)))
    is_new = r.random(n) < 0.15
    launch_off = np.where(is_new, r.integers(45, 690, size=n), -NEVER)
    is_cleared = ~is_new & (r.random(n) < 0.08)
    clear_day = world.world_day(np.where(is_cleared, r.integers(100, 640, size=n), NEVER))
    first_sup = _primary_supplier(r, sup, cat)
    # The worst supplier loses most of its skus to the newcomer on its first day.
    newcomer = len(sup.ids) - 1
    worst = np.argmax(np.where(np.isin(np.arange(newcomer), first_sup), sup.defect[:newcomer], -1))
    switch = (first_sup == worst) & (r.random(n) < 0.6)
    takeover = (np.arange(world.horizon)[:, None] >= sup.onboard_day[newcomer]) & switch
    cost, price = _price_history(world, cost0, _price_cents(cost0 * markup / 100), clear_day)
    rank = np.argsort(np.argsort(-base, kind="stable"), kind="stable") / n
    # A new sku enters the master when it is first sourced: its lead time and two weeks before launch.
    create_off = np.where(is_new, launch_off - sup.lead[first_sup] - 14, -NEVER)
    subs = pl.Series([s for c in CATEGORIES for s in c.subcategories])
    case_pack = np.select([cost0 < 500, cost0 < 2000, cost0 < 6000], [12, 6, 2], 1)
    return Products(
        ids=pl.Series(np.char.add("SKU-", np.char.zfill(np.arange(1, n + 1).astype(str), 5))),
        names=_names(brand, cat, noun, model),
        category=cat,
        subcategory=subs.gather(cat * 3 + sub),
        base=base,
        abc=np.digitize(rank, [0.2, 0.5]),
        case_pack=case_pack,
        min_order_qty=_min_order_qty(world, case_pack),
        affinity=affinity,
        launch_day=world.world_day(launch_off),
        create_day=np.maximum(world.world_day(create_off), 0),
        clear_day=clear_day,
        end_day=clear_day + 45,
        cost=cost,
        price=price,
        supplier=np.where(takeover, newcomer, first_sup),
    )


def product_version_keys(p: Products) -> tuple[np.ndarray, np.ndarray]:
    """(day, sku) of every product-master version: its creation, then each day a value changed."""
    changed = (p.cost[1:] != p.cost[:-1]) | (p.price[1:] != p.price[:-1]) | (p.supplier[1:] != p.supplier[:-1])
    day, sku = np.nonzero(changed)
    day = day + 1
    keep = day > p.create_day[sku]
    day = np.concatenate([p.create_day, day[keep]])
    sku = np.concatenate([np.arange(len(p.create_day)), sku[keep]])
    order = np.lexsort((sku, day))
    return day[order], sku[order]
