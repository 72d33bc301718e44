"""Holiday and retail-event indicator columns for Prophet, one matrix per country over the run's days.

Built once per run in the parent process (the `holidays` package is slow to expand year by year) and
shipped to the workers as plain arrays. Columns follow Prophet's own holiday features: one 0/1 column
per holiday name and day offset, named `<holiday>_delim_<+|-><offset>`.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import numpy as np

# Black Friday week through Cyber Monday: the biggest retail days in both the data and the real world,
# and not public holidays, so the `holidays` package does not list them.
BLACK_FRIDAY_WINDOW = (-4, 3)


def black_friday(year: int) -> date:
    nov1 = date(year, 11, 1)
    first_thursday = nov1 + timedelta(days=(3 - nov1.weekday()) % 7)
    return first_thursday + timedelta(days=22)  # the day after the fourth Thursday


def holiday_table(country: str | None, years: range, retail_events: bool) -> list[tuple[str, date, int, int]]:
    """(name, date, lower_window, upper_window) rows, like a Prophet holidays frame."""
    rows: list[tuple[str, date, int, int]] = []
    if country:
        try:
            found = holidays.country_holidays(country, years=list(years), language="en_US")
        except NotImplementedError:  # a country the package does not know: no holidays, not a failure
            found = {}
        for day in sorted(found):
            for name in found.get_list(day):
                rows.append((name, day, 0, 0))
    if retail_events:
        lo, hi = BLACK_FRIDAY_WINDOW
        rows += [("Black Friday", black_friday(y), lo, hi) for y in years]
    return rows


def holiday_matrix(days: np.ndarray, table: list[tuple[str, date, int, int]]) -> tuple[np.ndarray, list[str]]:
    """(len(days), K) indicators for `days` (datetime64[D], consecutive) and the column names."""
    first = days[0].astype("datetime64[D]")
    hits: dict[str, list[int]] = {}
    for name, day, lo, hi in table:
        for offset in range(lo, hi + 1):
            key = f"{name}_delim_{'+' if offset >= 0 else '-'}{abs(offset)}"
            pos = int((np.datetime64(day + timedelta(days=offset), "D") - first).astype(int))
            hits.setdefault(key, [])
            if 0 <= pos < len(days):
                hits[key].append(pos)
    names = sorted(hits)  # Prophet sorts its holiday columns by name
    out = np.zeros((len(days), len(names)))
    for j, key in enumerate(names):
        out[hits[key], j] = 1.0
    return out, names


def retail_event_days(days: np.ndarray, years: range) -> np.ndarray:
    """Bool per day of `days` (datetime64[D]): inside a Black Friday week-to-Cyber-Monday window."""
    lo, hi = BLACK_FRIDAY_WINDOW
    out = np.zeros(len(days), bool)
    for y in years:
        bf = np.datetime64(black_friday(y), "D")
        out |= (days >= bf + lo) & (days <= bf + hi)
    return out
