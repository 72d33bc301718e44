"""Customer bases: one pool per country and channel, each served by one warehouse.

Customers arrive over time and fade: a customer acquired on day a is drawn on day d with weight
propensity * exp(-(d - a) / tau). Because exp(-d / tau) is common to everyone on day d, a draw only
needs the running sum of propensity * exp(a / tau) over customers acquired so far, so picking a
customer is a binary search. Heavy-tailed propensity gives loyal repeat buyers next to one-off ones,
which is what repeat-customer rates and RFM segments need. Customers come in yearly blocks drawn
from their own streams, so a longer world only appends customers and never changes earlier draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.feeds.contract import CHANNELS

from .config import Stream, World, rng
from .masters import WarehouseSpec

REGIONS = {  # ISO-3166-2 subdivisions customers ship to, with population weights
    "DE": (
        ("DE-BY", "DE-NW", "DE-BW", "DE-NI", "DE-HE", "DE-SN", "DE-BE", "DE-HH"),
        (0.17, 0.24, 0.15, 0.11, 0.09, 0.08, 0.09, 0.07),
    ),
    "GB": (("GB-ENG", "GB-SCT", "GB-WLS", "GB-NIR"), (0.84, 0.08, 0.05, 0.03)),
}
REMOTE_REGIONS = ("GB-SCT", "GB-NIR")  # a day more to promise and to deliver
ALL_REGIONS = tuple(r for names, _ in REGIONS.values() for r in names)


@dataclass(frozen=True)
class ChannelSpec:
    unit_share: float  # share of a country's units sold through the channel
    lines_p: tuple[float, float, float, float]  # P(1..4 lines per order)
    mean_qty: float  # mean units per line
    extra_units: float  # consumer lines carry 1 + Poisson(extra_units) units
    price_factor: float  # unit price / list price (trade customers buy at trade prices)
    partial_ok: float  # share of lines that accept a partial shipment when stock is short
    max_wait: int  # days a backordered line waits before it is cancelled
    promise_days: int  # business days promised from order to delivery
    weekly: tuple[float, ...]  # Mon..Sun multiplier on order counts
    hours: tuple[float, ...]  # 24 weights of the hour (UTC) orders are placed
    customers_per_year: float  # new customers per year at scale 1, whole network
    tau: float  # days over which a customer's buying fades
    propensity_shape: float  # gamma shape: lower = more concentrated on loyal buyers


_B2C_HOURS = (2, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 7, 7, 7, 7, 7, 8, 9, 11, 12, 11, 8, 5, 3)
_OFFICE_HOURS = (0,) * 6 + (4, 8, 8, 8, 6, 6, 7, 7, 5, 2) + (0,) * 8
CHANNEL_SPECS: dict[str, ChannelSpec] = {
    "web": ChannelSpec(
        unit_share=0.55,
        lines_p=(0.58, 0.25, 0.11, 0.06),
        mean_qty=1.35,
        extra_units=0.35,
        price_factor=1.0,
        partial_ok=0.5,
        max_wait=12,
        promise_days=3,
        weekly=(1.0,) * 7,
        hours=_B2C_HOURS,
        customers_per_year=110_000,
        tau=300.0,
        propensity_shape=0.7,
    ),
    "marketplace": ChannelSpec(
        unit_share=0.35,
        lines_p=(0.80, 0.14, 0.05, 0.01),
        mean_qty=1.15,
        extra_units=0.15,
        price_factor=1.0,
        partial_ok=0.0,
        max_wait=5,
        promise_days=2,
        weekly=(1.0,) * 7,
        hours=_B2C_HOURS,
        customers_per_year=100_000,
        tau=200.0,
        propensity_shape=0.5,
    ),
    # Trade accounts: weekday office hours, lumpy quantities (negative binomial, mean about 11), all
    # accounts known from the start and buying steadily.
    "wholesale": ChannelSpec(
        unit_share=0.10,
        lines_p=(0.15, 0.25, 0.30, 0.30),
        mean_qty=11.35,
        extra_units=0.0,
        price_factor=0.72,
        partial_ok=0.85,
        max_wait=21,
        promise_days=5,
        weekly=(1.4,) * 5 + (0.0, 0.0),
        hours=_OFFICE_HOURS,
        customers_per_year=0,
        tau=np.inf,
        propensity_shape=2.0,
    ),
}
WHOLESALE_ACCOUNTS = 60  # at scale 1


@dataclass(frozen=True)
class Pool:
    country: str
    channel: str
    warehouse: int  # index of the serving warehouse
    share: float  # share of that warehouse's demand
    ids: np.ndarray  # customer numbers, in order of acquisition
    acquired: np.ndarray  # simulation day
    cumweight: np.ndarray
    region: np.ndarray  # index into ALL_REGIONS

    @property
    def spec(self) -> ChannelSpec:
        return CHANNEL_SPECS[self.channel]

    def sample(self, r: np.random.Generator, day: int, n: int) -> np.ndarray:
        active = max(int(np.searchsorted(self.acquired, day, side="right")), 1)
        u = r.random(n) * self.cumweight[active - 1]
        return np.minimum(np.searchsorted(self.cumweight, u, side="right"), active - 1)


def _serving_warehouse(whs: tuple[WarehouseSpec, ...], country: str, channel: str) -> int:
    # Marketplace orders go to the fulfilment partner (as with FBA), the rest to own sites.
    wanted = "3pl" if channel == "marketplace" else "own"
    local = [i for i, w in enumerate(whs) if w.country == country]
    preferred = [i for i in local if whs[i].operator == wanted]
    return (preferred or local)[0]


def _block(world: World, code: int, year: int, country: str, spec: ChannelSpec, n: int) -> tuple[np.ndarray, ...]:
    """Customers acquired in one calendar year: (ids, acquisition day, weight, region)."""
    r = rng(world.seed, Stream.CUSTOMERS, code, year)
    first = world.day_index(date(year, 1, 1))
    acquired = np.sort(first + r.integers(0, world.day_index(date(year + 1, 1, 1)) - first, size=n))
    fade = np.exp(acquired / spec.tau) if np.isfinite(spec.tau) else 1.0
    names, weights = REGIONS[country]
    region = ALL_REGIONS.index(names[0]) + r.choice(len(names), size=n, p=weights)
    ids = code * 10**8 + (year - 2000) * 10**6 + np.arange(n)
    return ids, acquired, r.gamma(spec.propensity_shape, size=n) * fade, region


def build_pools(world: World, whs: tuple[WarehouseSpec, ...]) -> tuple[Pool, ...]:
    countries = tuple(dict.fromkeys(w.country for w in whs))
    market = {c: sum(w.share for w in whs if w.country == c) / sum(w.share for w in whs) for c in countries}
    serving = {(c, ch): _serving_warehouse(whs, c, ch) for c in countries for ch in CHANNELS}
    units_at: dict[int, float] = {}
    for (_, ch), wh in serving.items():
        units_at[wh] = units_at.get(wh, 0.0) + CHANNEL_SPECS[ch].unit_share
    # The year before the world starts holds the customers it already has.
    years = range(min(world.years()) - 1, max(world.years()) + 1)
    pools = []
    for ci, country in enumerate(countries):  # two countries x three channels
        for hi, channel in enumerate(CHANNELS):
            spec = CHANNEL_SPECS[channel]
            code = ci * len(CHANNELS) + hi + 1
            if channel == "wholesale":
                accounts = max(3, round(WHOLESALE_ACCOUNTS * world.scale * market[country]))
                sizes = [accounts] + [0] * (len(years) - 1)
            else:
                sizes = [round(spec.customers_per_year * world.scale * market[country])] * len(years)
            blocks = [_block(world, code, y, country, spec, n) for y, n in zip(years, sizes, strict=True)]
            ids, acquired, weight, region = (np.concatenate(part) for part in zip(*blocks, strict=True))
            wh = serving[(country, channel)]
            pools.append(
                Pool(country, channel, wh, spec.unit_share / units_at[wh], ids, acquired, np.cumsum(weight), region)
            )
    return tuple(pools)
