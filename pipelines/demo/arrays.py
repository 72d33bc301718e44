"""Small vector helpers the simulation leans on: group counters, a growable column store and a
day-by-day history that stays narrow while its values fit."""

from __future__ import annotations

import numpy as np


def cumcount(keys: np.ndarray) -> np.ndarray:
    """0-based position of each element among the earlier elements with the same key."""
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
    start_pos = np.maximum.accumulate(np.where(starts, np.arange(keys.size), 0))
    out = np.empty(keys.size, dtype=np.int64)
    out[order] = np.arange(keys.size) - start_pos
    return out


def group_cumsum(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of non-negative values within runs of equal (already sorted) groups."""
    if groups.size == 0:
        return values.copy()
    total = np.cumsum(values)
    starts = np.r_[True, groups[1:] != groups[:-1]]
    # Values are non-negative, so the sum before the latest group start is a running maximum.
    return total - np.maximum.accumulate(np.where(starts, total - values, 0))


def ranges(length: np.ndarray) -> np.ndarray:
    """Concatenated 0..length-1 for every entry."""
    ends = np.cumsum(length)
    return np.arange(ends[-1] if ends.size else 0) - np.repeat(ends - length, length)


def put_row(rows: np.ndarray, i: int, values: np.ndarray) -> np.ndarray:
    """rows[i] = values, exactly: an integer `rows` too narrow for a value is widened to int64 first.
    Returns rows, or its widened copy."""
    info = np.iinfo(rows.dtype)
    if values.size and (values.max() > info.max or values.min() < info.min):
        rows = rows.astype(np.int64)
    rows[i] = values
    return rows


# Capacity factor when a store is full. Spare capacity costs address space, not memory, until rows are
# written to it (fresh pages of np.zeros are not resident), so doubling wastes little and copies less.
GROWTH = 2


class Columns:
    """Append-only columns of equal length, grown geometrically: the order book, PO lines, returns.

    Working columns hold what the simulation needs only while a row is in play (an open order line's
    shipping draws, its patience): they are kept only for the rows from `release_before`'s row on, so
    a long run holds them for the rows in play, not for every row ever appended. They are read and
    written by row index through `take` and `set`. `trim` ends a store's simulation: exact-size
    columns, and no working columns."""

    def __init__(self, dtypes: dict[str, np.dtype | type], capacity: int = 1024, working: tuple[str, ...] = ()) -> None:
        self._data = {k: np.zeros(capacity, dtype=v) for k, v in dtypes.items() if k not in working}
        self._work = {k: np.zeros(capacity, dtype=dtypes[k]) for k in working}
        self._floor = 0  # the row held at position 0 of the working columns
        self._release = 0  # rows before this one are no longer read in the working columns
        self.n = 0

    def append(self, **cols: np.ndarray) -> np.ndarray:
        """Append rows; returns their indices. Columns not given stay at their zero/default."""
        m = len(next(iter(cols.values())))
        need = self.n + m
        self._make_room(need)
        for k, v in cols.items():
            if k in self._work:
                self._work[k][self.n - self._floor : need - self._floor] = v
            else:
                self._data[k][self.n : need] = v
        idx = np.arange(self.n, need)
        self.n = need
        return idx

    def _make_room(self, need: int) -> None:
        cap = len(next(iter(self._data.values())))
        if need > cap:
            new_cap = max(need, int(cap * GROWTH))
            for k, a in self._data.items():
                grown = np.zeros(new_cap, dtype=a.dtype)
                grown[: self.n] = a[: self.n]
                self._data[k] = grown
        if not self._work:
            return
        cap = len(next(iter(self._work.values())))
        if need - self._floor <= cap:
            return
        # Full: move the rows in play to the front, dropping the released ones, and grow so that at
        # least half stays free, which keeps these moves rare.
        live = slice(self._release - self._floor, self.n - self._floor)
        n_live = live.stop - live.start
        new_cap = max(cap, 2 * (need - self._release))
        for k, a in self._work.items():
            if new_cap > cap:
                moved = np.zeros(new_cap, dtype=a.dtype)
                moved[:n_live] = a[live]
            else:
                moved = a
                moved[:n_live] = a[live].copy()
                moved[n_live:] = 0  # rows to come start at their zero/default, as in a new store
            self._work[k] = moved
        self._floor = self._release

    def __getitem__(self, key: str) -> np.ndarray:
        """A live view of the filled part; writes through (not for working columns: see `take`)."""
        return self._data[key][: self.n]

    def take(self, key: str, idx: np.ndarray) -> np.ndarray:
        """Values at rows idx, of any column."""
        if key not in self._work:
            return self._data[key][: self.n][idx]
        return self._work[key][self._working_pos(idx)]

    def set(self, key: str, idx: np.ndarray, values: np.ndarray | int | float) -> None:
        if key in self._work:
            self._work[key][self._working_pos(idx)] = values
        else:
            self._data[key][idx] = values

    def _working_pos(self, idx: np.ndarray) -> np.ndarray:
        if idx.size and (idx.min() < self._release or idx.max() >= self.n):
            raise IndexError("a working column is used at a row released or not appended yet")
        return idx - self._floor

    def release_before(self, row: int) -> None:
        """Rows before `row` are no longer read or written in the working columns."""
        self._release = max(self._release, min(row, self.n))

    def trim(self) -> None:
        """Exact-size columns and no working columns: what the store holds once the simulation is over."""
        for k in list(self._data):  # one column at a time: the copy costs one column's memory
            self._data[k] = self._data[k][: self.n].copy()
        self._work, self._floor, self._release = {}, 0, self.n
