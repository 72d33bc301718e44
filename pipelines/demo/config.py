"""World size, calendar origin and random streams.

Every random draw comes from a stream keyed by (seed, purpose, key...), never from one shared
generator: adding a draw in one place must not reshuffle the rest of the world, and the draws of
day d must not depend on how many days are simulated after it (that is what makes increments line up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum

import numpy as np

WORLD_START = date(2024, 1, 1)
EPOCH = date(1970, 1, 1)
DAY_SECONDS = 86_400
# Planning looks ahead by lead time plus review period, and receipts land after the last simulated
# day; calendars and demand must exist that far past the end.
LOOKAHEAD_DAYS = 160


class Stream(IntEnum):
    SKUS = 1
    SUPPLIERS = 2
    PRICES = 3
    PROMOS = 4
    NOISE = 5
    CUSTOMERS = 6
    ORDERS = 7
    FULFIL = 8
    RETURNS = 9
    REPLENISH = 10
    FAULTS = 11
    PLANNING = 12
    MAKE = 13


def rng(seed: int, stream: Stream, *keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, int(stream), *keys]))


@dataclass(frozen=True)
class World:
    """One simulated world: its size (from scale), seed and the span of days simulated."""

    seed: int
    scale: float
    origin: date  # first simulated day
    end: date  # last simulated day (inclusive)
    make: bool = True  # a manufacturer beside the trader: made skus, their components and work orders

    @property
    def n_days(self) -> int:
        return (self.end - self.origin).days + 1

    @property
    def horizon(self) -> int:
        return self.n_days + LOOKAHEAD_DAYS

    @property
    def n_skus(self) -> int:
        return max(10, round(1000 * self.scale))

    @property
    def n_warehouses(self) -> int:
        # Two warehouses still give two countries and both operators; four add a 3pl per country.
        return 4 if self.scale >= 0.05 else 2

    @property
    def n_suppliers(self) -> int:
        return max(3, round(40 * self.scale))

    @property
    def origin_epoch_day(self) -> int:
        return (self.origin - EPOCH).days

    def day_index(self, d: date) -> int:
        return (d - self.origin).days

    def date_of(self, day: int) -> date:
        return self.origin + timedelta(days=int(day))

    def day_ordinal(self, day: int) -> int:
        """Absolute key for per-day random streams, independent of the origin."""
        return self.origin.toordinal() + int(day)

    def world_day(self, days_after_world_start: np.ndarray | int) -> np.ndarray | int:
        """Convert offsets from WORLD_START (how static calendars are drawn) to simulation days."""
        return days_after_world_start + (WORLD_START - self.origin).days

    def years(self) -> range:
        """Calendar years the horizon touches (yearly draws: promotions, price reviews, customers)."""
        return range(self.origin.year, (self.origin + timedelta(days=self.horizon)).year + 1)

    def dates(self) -> np.ndarray:
        """datetime64[D] of every day of the horizon."""
        return np.datetime64(self.origin, "D") + np.arange(self.horizon)
