"""Working-day calendars: public holidays per country (they move demand and stop shipping), the
retail events every country shares (Black Friday, Christmas), and business-day arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import holidays
import numpy as np

from .config import World

# Mon..Sat: carriers deliver on Saturdays, and so do the 3pl warehouses; own sites ship Mon..Fri.
SIX_DAY_WEEK = "1111110"
FIVE_DAY_WEEK = "1111100"


@dataclass(frozen=True)
class Calendars:
    origin: np.datetime64
    dow: np.ndarray  # (horizon,) 0 = Monday
    doy: np.ndarray  # (horizon,) day of year, 1-based
    holiday_dates: dict[str, np.ndarray]  # country -> datetime64[D]
    is_holiday: dict[str, np.ndarray]  # country -> (horizon,) bool
    from_black_friday: np.ndarray  # (horizon,) days from that year's Black Friday (negative before)
    from_christmas: np.ndarray  # (horizon,) days from that year's 25 December (negative before)

    def business_day(self, country: str, day: np.ndarray, offset: np.ndarray | int, weekmask: str) -> np.ndarray:
        """Simulation day `offset` business days after `day` (rolled forward onto a business day first)."""
        d = self.origin + day.astype("timedelta64[D]")
        out = np.busday_offset(d, offset, roll="forward", weekmask=weekmask, holidays=self.holiday_dates[country])
        return (out - self.origin).astype(np.int64)

    def is_workday(self, country: str, weekmask: str) -> np.ndarray:
        return np.array([c == "1" for c in weekmask])[self.dow] & ~self.is_holiday[country]


def black_friday(year: int) -> date:
    nov1 = date(year, 11, 1)
    thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
    return thanksgiving + timedelta(days=1)


def _leap(years: np.ndarray) -> np.ndarray:
    y = years.astype(np.int64) + 1970
    return ((y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))).astype(np.int64)


def build_calendars(world: World, countries: tuple[str, ...]) -> Calendars:
    dates = world.dates()
    origin = dates[0]
    years = list(world.years()) + [max(world.years()) + 1]
    hol = {}
    for c in sorted(set(countries)):
        days = sorted(holidays.country_holidays(c, years=years))
        hol[c] = np.array(days, dtype="datetime64[D]")
    bf = np.array([black_friday(y) for y in years], dtype="datetime64[D]")
    years_of = dates.astype("datetime64[Y]")
    year_idx = years_of.astype(np.int64) + 1970 - years[0]
    return Calendars(
        origin=origin,
        dow=((dates - np.datetime64("1970-01-05", "D")).astype(np.int64)) % 7,
        doy=(dates - years_of.astype("datetime64[D]")).astype(np.int64) + 1,
        holiday_dates=hol,
        is_holiday={c: np.isin(dates, h) for c, h in hol.items()},
        from_black_friday=(dates - bf[year_idx]).astype(np.int64),
        from_christmas=(dates - years_of.astype("datetime64[D]")).astype(np.int64) - 358 - _leap(years_of),
    )
