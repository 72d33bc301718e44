"""The manufacturer beside the trader: which skus are made, what they are made of, and where.

A share of the assortment is made in-house at the own sites (the 3pl partners only store and ship).
Each made sku is assembled from a few purchased components, new skus of their own that are bought on
purchase orders like any other and never sold; popular parts (packaging, fasteners) go into many
products. A few products contain a sub-assembly that is itself made from components (a second BOM
level). Each site has the same few work centers of fixed hours a day; standard times are set so that
each line is loaded to its utilisation by the mean demand, and one line is tight (it queues and runs
late when demand peaks and as the business grows).

Made skus are sold from the site of their country (or the first site): their demand at the other
warehouses moves there. Components get the dependent demand of their parents, through the BOM, in the
planner's look-ahead, so they are bought ahead of the work orders that consume them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from .arrays import ranges
from .config import Stream, World, rng
from .demand import Demand
from .masters import CATEGORIES, NEVER, Products, Suppliers, WarehouseSpec

COMPONENT_CATEGORY = "Components"
CATEGORY_NAMES = (*(c.name for c in CATEGORIES), COMPONENT_CATEGORY)
MADE_SHARE = 0.175  # of the assortment
SUB_ASSEMBLY_SHARE = 0.125  # sub-assemblies per made sku
PARTS_PER_MADE = 1.3  # purchased components per made sku: fewer than their uses, so parts are shared
MATERIAL_SHARE = 0.55  # of a parent's unit cost spent on its components
# Defects that inbound quality control misses fail in production (component_defect scrap): a part's scrap
# rate is this share of its supplier's defect rate.
ESCAPE = 0.25
# The trader's worst supplier also supplies this share of the parts, and its defect rate is made to stand out:
# at least WORST_COMPONENT_DEFECT and three times the next component supplier's, up to WORST_DEFECT_CAP.
WORST_PART_SHARE = 0.3
WORST_COMPONENT_DEFECT, WORST_DEFECT_CAP = 0.03, 0.08
# Work centers at each site: (name, hours per working day, utilisation its standard times are set for);
# the first is the tight one.
CENTERS = (("Assembly Line 1", 16.0, 0.8), ("Assembly Line 2", 16.0, 0.45), ("Sub-assembly Cell", 8.0, 0.4))
PRODUCTION_LEAD_DAYS = 7  # calendar days the planner allows from a work order to its output
MAX_LOT_DAYS = 1  # working days of its center one work order may take at most
_PARTS = (
    ("Circuit Board", "Electronic parts"),
    ("Battery Cell", "Electronic parts"),
    ("Motor", "Electronic parts"),
    ("Switch", "Electronic parts"),
    ("Cable Harness", "Electronic parts"),
    ("Housing", "Mechanical parts"),
    ("Steel Frame", "Mechanical parts"),
    ("Spring", "Mechanical parts"),
    ("Fastener Kit", "Mechanical parts"),
    ("Seal", "Mechanical parts"),
    ("Fabric Panel", "Textiles"),
    ("Zip", "Textiles"),
    ("Thread Spool", "Textiles"),
    ("Gift Box", "Packaging"),
    ("Carton", "Packaging"),
    ("Label Set", "Packaging"),
)
_ASSEMBLIES = ("Drive Unit", "Control Module", "Frame Assembly", "Handle Assembly", "Power Pack")
SUB_ASSEMBLIES = "Sub-assemblies"


@dataclass(frozen=True)
class Plant:
    n_sold: int  # skus [0, n_sold) are the assortment; then sub-assemblies, then purchased components
    made: np.ndarray  # (n_all,) made in-house: finished goods and sub-assemblies
    # BOM edges, sorted by parent: parent makes use of quantity_per units of child per unit made
    parent: np.ndarray
    child: np.ndarray
    quantity_per: np.ndarray  # whole units (int), so stock stays in units
    allowance: np.ndarray  # planned scrap share of the parent (NaN where none is stated)
    edge_start: np.ndarray  # (n_all + 1,) first edge of each parent (CSR)
    sites: tuple[int, ...]  # warehouses that manufacture
    site_of: np.ndarray  # (n_wh,) site whose stock serves each warehouse's made demand
    center_site: np.ndarray  # (n_wc,) warehouse index
    center_ids: tuple[str, ...]
    center_names: tuple[str, ...]
    capacity: np.ndarray  # (n_wc,) hours per working day
    machine_risk: np.ndarray  # (n_wc,) chance a work order meets a breakdown
    center_of: np.ndarray  # (n_all, n_wh) work center of a made sku at a site, -1 elsewhere
    setup_hours: np.ndarray  # (n_all,)
    run_hours: np.ndarray  # (n_all,) per unit: set so that each center's expected load is its utilisation

    def gross(self) -> np.ndarray:
        """Component units needed per parent unit planned, scrap allowance included, per edge."""
        return self.quantity_per / (1 - np.nan_to_num(self.allowance))


def _top_k(r: np.random.Generator, weights: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, item) of k[row] distinct items per row, drawn in proportion to weights (Gumbel top-k)."""
    k = np.minimum(k, weights.size)
    keys = np.log(weights)[None, :] + r.gumbel(size=(k.size, weights.size))
    order = np.argsort(-keys, axis=1, kind="stable")
    rows = np.repeat(np.arange(k.size), k)
    return rows, order[rows, ranges(k)]


def _sites(whs: tuple[WarehouseSpec, ...]) -> tuple[tuple[int, ...], np.ndarray]:
    sites = tuple(i for i, w in enumerate(whs) if w.operator == "own")
    same = [[s for s in sites if whs[s].country == w.country] for w in whs]
    return sites, np.array([m[0] if m else sites[0] for m in same])


@dataclass(frozen=True)
class _Bom:
    parent: np.ndarray
    child: np.ndarray
    quantity_per: np.ndarray
    allowance: np.ndarray
    edge_start: np.ndarray


def _bom(r: np.random.Generator, fg: np.ndarray, sub0: int, part0: int, n_all: int) -> _Bom:
    """Finished goods of 2-6 components, a sub-assembly among them for some (every sub-assembly is used);
    sub-assemblies of 2-4 purchased parts. Popular parts go into many products."""
    n_made, n_sub, n_part = fg.size, part0 - sub0, n_all - part0
    popularity = 1 / np.arange(1, n_part + 1) ** 0.8
    k_fg = r.integers(2, 7, size=n_made)
    sub_of = np.where(r.random(n_made) < 0.25, r.integers(0, n_sub, size=n_made), -1)
    sub_of[r.permutation(n_made)[:n_sub]] = np.arange(n_sub)
    has_sub = sub_of >= 0
    rows, part = _top_k(r, popularity, k_fg - has_sub)
    parent = np.concatenate([fg[rows], fg[has_sub]])
    child = np.concatenate([part0 + part, sub0 + sub_of[has_sub]])
    rows, part = _top_k(r, popularity, r.integers(2, 5, size=n_sub))
    parent = np.concatenate([parent, sub0 + rows])
    child = np.concatenate([child, part0 + part])
    order = np.lexsort((child, parent))
    parent, child = parent[order], child[order]
    quantity_per = r.choice(np.array([1, 1, 1, 1, 2, 2, 3, 4]), size=parent.size)
    stated = r.random(n_all) < 0.4  # parents whose BOM states a scrap allowance
    allowance_of = np.round(r.uniform(0.01, 0.05, size=n_all) * 200) / 200
    allowance = np.where(stated[parent], allowance_of[parent], np.nan)
    return _Bom(parent, child, quantity_per, allowance, np.searchsorted(parent, np.arange(n_all + 1)))


def _component_costs(bom: _Bom, cost_sold: np.ndarray, n_all: int) -> np.ndarray:
    """Cents per unit of the sub-assemblies and parts: a parent's material share split over its components;
    a component costs the mean of its uses."""
    n = cost_sold.size
    k_of = np.diff(bom.edge_start)
    cost = np.zeros(n_all)
    cost[:n] = cost_sold
    for level in (bom.parent < n, bom.parent >= n):  # finished goods first, then sub-assemblies
        p = bom.parent[level]
        share = MATERIAL_SHARE * cost[p] / (k_of[p] * bom.quantity_per[level])
        total = np.bincount(bom.child[level], share, minlength=n_all)
        uses = np.bincount(bom.child[level], minlength=n_all)
        new = (uses > 0) & (np.arange(n_all) >= n)
        cost[new] = total[new] / uses[new]
    return np.maximum(np.round(cost[n:]), 5).astype(np.int64)


def _part_suppliers(r: np.random.Generator, suppliers: Suppliers, n_part: int) -> tuple[np.ndarray, Suppliers]:
    """Each part's supplier (the worst of the trader's supplies WORST_PART_SHARE of them), and the suppliers
    with that one's defect rate made to stand out."""
    n_sup = len(suppliers.ids) - 1  # the newcomer is onboarded later
    worst = int(np.argmax(suppliers.defect[:n_sup]))
    others = np.flatnonzero(np.arange(n_sup) != worst)
    part_supplier = others[r.integers(0, others.size, size=n_part)]
    part_supplier[r.permutation(n_part)[: max(2, round(WORST_PART_SHARE * n_part))]] = worst
    defect = suppliers.defect.copy()
    rivals = defect[np.setdiff1d(part_supplier, worst)]
    defect[worst] = min(max(defect[worst], WORST_COMPONENT_DEFECT, 3 * rivals.max(initial=0)), WORST_DEFECT_CAP)
    return part_supplier, replace(suppliers, defect=defect)


def _with_components(
    r: np.random.Generator,
    world: World,
    products: Products,
    fg: np.ndarray,
    n_sub: int,
    cost: np.ndarray,
    part_supplier: np.ndarray,
) -> Products:
    """The products with the sub-assemblies and parts appended (never sold, never cleared) and the made skus
    marked; a made sku's nominal supplier no longer changes (it is not bought)."""
    n, n_new = products.base.size, cost.size
    n_part = n_new - n_sub
    kind = r.integers(0, len(_PARTS), size=n_part)
    code = r.integers(100, 1000, size=n_new).astype(str)
    letters = np.array(list("ABCDEFGHJK"))
    assemblies = np.char.add(
        np.char.add(np.array(_ASSEMBLIES)[np.arange(n_sub) % len(_ASSEMBLIES)], " A"), code[:n_sub]
    )
    parts = np.char.add(np.array([p[0] for p in _PARTS])[kind], " ")
    parts = np.char.add(np.char.add(parts, letters[r.integers(0, 10, size=n_part)]), code[n_sub:])
    pack = np.select([cost < 100, cost < 500, cost < 2000], [100, 50, 10], 1)
    pack[:n_sub] = 5  # a sub-assembly's lot: made to what its parents need, not bought by the case
    moq = np.where((r.random(n_new) < 0.5) | (np.arange(n_new) < n_sub), 0, r.integers(2, 6, size=n_new) * pack)
    h = products.cost.shape[0]
    supplier = products.supplier.copy()
    supplier[:, fg] = supplier[0, fg]
    never = world.world_day(NEVER)
    made = np.zeros(n + n_new, bool)
    made[fg] = True
    made[n : n + n_sub] = True
    return replace(
        products,
        ids=pl.concat(
            [
                products.ids,
                pl.Series(np.char.add("ASM-", np.char.zfill((np.arange(n_sub) + 1).astype(str), 4))),
                pl.Series(np.char.add("CMP-", np.char.zfill((np.arange(n_part) + 1).astype(str), 5))),
            ]
        ),
        names=pl.concat([products.names, pl.Series(np.concatenate([assemblies, parts]))]),
        category=np.concatenate([products.category, np.full(n_new, len(CATEGORIES))]),
        subcategory=pl.concat(
            [products.subcategory, pl.Series([SUB_ASSEMBLIES] * n_sub + [_PARTS[k][1] for k in kind])]
        ),
        base=np.concatenate([products.base, np.zeros(n_new)]),
        abc=np.concatenate([products.abc, np.ones(n_new, np.int64)]),
        case_pack=np.concatenate([products.case_pack, pack]),
        min_order_qty=np.concatenate([products.min_order_qty, moq]).astype(np.int64),
        affinity=np.concatenate([products.affinity, np.zeros((n_new, products.affinity.shape[1]))]),
        launch_day=np.concatenate([products.launch_day, np.full(n_new, world.world_day(-NEVER))]),
        create_day=np.concatenate([products.create_day, np.zeros(n_new, np.int64)]),
        clear_day=np.concatenate([products.clear_day, np.full(n_new, never)]),
        end_day=np.concatenate([products.end_day, np.full(n_new, never + 45)]),
        cost=np.concatenate([products.cost, np.broadcast_to(cost, (h, n_new))], axis=1),
        price=np.concatenate(
            [products.price, np.broadcast_to(np.round(cost * 1.25).astype(np.int64), (h, n_new))], axis=1
        ),
        # A sub-assembly's supplier is never read (it is made); a part's is the one it is bought from.
        supplier=np.concatenate(
            [supplier, np.broadcast_to(np.r_[np.zeros(n_sub, np.int64), part_supplier], (h, n_new))], axis=1
        ),
        made=made,
    )


def build_plant(
    world: World, products: Products, suppliers: Suppliers, whs: tuple[WarehouseSpec, ...]
) -> tuple[Plant, Products, Suppliers]:
    """The plant, the products with sub-assemblies and parts appended, and the suppliers with the worst
    component supplier's quality as bad as its production scrap shows."""
    r = rng(world.seed, Stream.MAKE, 0)
    n = products.base.size
    n_made = max(2, round(MADE_SHARE * n))
    fg = np.sort(r.choice(n, size=n_made, replace=False))
    n_sub = max(1, round(SUB_ASSEMBLY_SHARE * n_made))
    n_part = max(6, round(PARTS_PER_MADE * n_made))
    sub0, part0 = n, n + n_sub
    n_all = part0 + n_part
    bom = _bom(r, fg, sub0, part0, n_all)
    part_supplier, suppliers = _part_suppliers(r, suppliers, n_part)
    cost = _component_costs(bom, products.cost[0], n_all)
    products = _with_components(r, world, products, fg, n_sub, cost, part_supplier)

    # Work centers: the same lines at each site; a finished good runs on one of its assembly lines, a
    # sub-assembly in its cell.
    sites, site_of = _sites(whs)
    n_c = len(CENTERS)
    center_site = np.repeat(np.array(sites), n_c)
    center_of = np.full((n_all, len(whs)), -1, np.int64)
    slot = np.where(np.arange(n_all) >= sub0, n_c - 1, r.integers(0, n_c - 1, size=n_all))
    for i, s in enumerate(sites):
        center_of[products.made, s] = i * n_c + slot[products.made]
    cities = [whs[s].name.split()[0] for s in sites]
    plant = Plant(
        n_sold=n,
        made=products.made,
        parent=bom.parent,
        child=bom.child,
        quantity_per=bom.quantity_per,
        allowance=bom.allowance,
        edge_start=bom.edge_start,
        sites=sites,
        site_of=site_of,
        center_site=center_site,
        center_ids=tuple(f"WC-{whs[s].id.split('-')[-1]}-{k + 1}" for s in sites for k in range(n_c)),
        center_names=tuple(f"{c} {name}" for c in cities for name, _, _ in CENTERS),
        capacity=np.tile(np.array([c for _, c, _ in CENTERS]), len(sites)),
        machine_risk=r.uniform(0.03, 0.10, size=center_site.size),
        center_of=center_of,
        setup_hours=np.round(r.uniform(0.5, 2.5, size=n_all) * 4) / 4,
        run_hours=np.exp(r.normal(0, 0.5, size=n_all)),  # relative; scaled to the demand by plant_demand
    )
    return plant, products, suppliers


def _mean_rates(plant: Plant, products: Products, share: np.ndarray) -> np.ndarray:
    """(n_all, n_wh) units a day each site makes or uses of each sku, on average over seasons and before
    growth: finished goods' mean demand (a sku that launches later counts as sold already), then their
    components' through the BOM. Static, so centers are the same however many days are simulated."""
    n, n_all = plant.n_sold, plant.made.size
    rate = np.zeros((n_all, share.size))
    sold = products.base[:n, None] * products.affinity[:n] * share
    fg = np.flatnonzero(plant.made[:n])
    for w in range(share.size):
        rate[fg, plant.site_of[w]] += sold[fg, w]
    gross = plant.gross()
    for of_sold in (True, False):  # finished goods' components first, then the sub-assemblies'
        level = (plant.parent < n) == of_sold
        np.add.at(rate, plant.child[level], rate[plant.parent[level]] * gross[level][:, None])
    return rate


def plant_demand(
    demand: Demand, plant: Plant, products: Products, whs: tuple[WarehouseSpec, ...], lot_days: np.ndarray
) -> tuple[Demand, Plant]:
    """Customer demand over every sku (made skus sold from their site), the planner's look-ahead with the
    BOM's dependent demand, and the plant's standard times set for that demand (`lot_days`: the days of
    demand a sku's lots cover, which sets how often it is set up)."""
    h, n, n_wh = demand.lam.shape
    n_all = plant.made.size
    lam = np.zeros((h, n_all, n_wh))
    lam[:, :n] = demand.lam
    made_fg = np.flatnonzero(plant.made[:n])
    for w in range(n_wh):
        if plant.site_of[w] != w:
            lam[:, made_fg, plant.site_of[w]] += lam[:, made_fg, w]
            lam[:, made_fg, w] = 0
    # Dependent demand of the sub-assemblies and parts (they sell nothing), parents' totals level by level.
    dep = np.zeros((h, n_all - n, n_wh))
    gross = plant.gross()
    for of_sold in (True, False):  # finished goods' components first, then the sub-assemblies'
        level = (plant.parent < n) == of_sold
        parent, child = plant.parent[level], plant.child[level] - n
        for s in plant.sites:
            total = lam[:, parent, s] if of_sold else dep[:, parent - n, s]
            np.add.at(dep[:, :, s], (slice(None), child), total * gross[level])
    cum = np.zeros((h + 1, n_all * n_wh))
    np.cumsum(lam.reshape(h, -1), axis=0, out=cum[1:])
    cum[1:, n * n_wh :] += np.cumsum(dep.reshape(h, -1), axis=0)
    discount = np.zeros((h, n_all))
    discount[:, :n] = demand.discount
    share = np.array([w.share for w in whs])
    rate = _mean_rates(plant, products, share / share.sum())
    return Demand(lam=lam, cum=cum, discount=discount), _standard_times(plant, rate, lot_days, products.case_pack)


def _standard_times(plant: Plant, rate: np.ndarray, lot_days: np.ndarray, pack: np.ndarray) -> Plant:
    """Run hours per unit such that each line (the same at every site) is loaded to its utilisation on
    average, with a sku's relative time kept. Setups depend on the lots, which depend on the times (a lot
    runs at most MAX_LOT_DAYS of its center): a few rounds settle both. Loads are per working day (five of
    seven)."""
    n_c = len(CENTERS)
    sku, wh = np.nonzero(plant.center_of >= 0)
    center = plant.center_of[sku, wh]
    line = center % n_c
    units = rate[sku, wh]
    cap = plant.capacity[center]
    relative = np.bincount(line, units * plant.run_hours[sku], minlength=n_c) * 7 / 5
    target = np.array([c * u for _, c, u in CENTERS]) * len(plant.sites)
    setup = np.bincount(line, plant.setup_hours[sku] / lot_days[sku], minlength=n_c) * 7 / 5
    for _ in range(4):
        # A line whose skus sell nothing (none yet) gets an hour per relative unit.
        per_unit = np.where(relative > 1e-6, np.maximum(target - setup, 0.2 * target) / np.maximum(relative, 1e-6), 1)
        hours = plant.run_hours[sku] * per_unit[line]
        lot = np.minimum(units * lot_days[sku], MAX_LOT_DAYS * cap / hours)
        setup = np.bincount(line, plant.setup_hours[sku] * units / np.maximum(lot, 1), minlength=n_c) * 7 / 5
    line_of = np.full(plant.made.size, -1)
    line_of[sku] = line
    day = MAX_LOT_DAYS * np.array([c for _, c, _ in CENTERS])[np.maximum(line_of, 0)]
    run_hours = np.where(line_of >= 0, plant.run_hours * per_unit[np.maximum(line_of, 0)], 0.0)
    # One pack fits in a lot: a small plant with little to make is underused rather than slow.
    run_hours = np.minimum(run_hours, np.maximum(day - plant.setup_hours, 0.25 * day) / pack)
    return replace(plant, run_hours=np.round(run_hours, 4))
