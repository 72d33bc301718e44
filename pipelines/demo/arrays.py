"""Small vector helpers the simulation leans on: group counters and a growable column store."""

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


class Columns:
    """Append-only columns of equal length, grown geometrically: the order book, PO lines, returns."""

    def __init__(self, dtypes: dict[str, np.dtype | type], capacity: int = 1024) -> None:
        self._data = {k: np.zeros(capacity, dtype=v) for k, v in dtypes.items()}
        self.n = 0

    def append(self, **cols: np.ndarray) -> np.ndarray:
        """Append rows; returns their indices. Columns not given stay at their zero/default."""
        m = len(next(iter(cols.values())))
        need = self.n + m
        cap = len(next(iter(self._data.values())))
        if need > cap:
            new_cap = max(need, cap * 2)
            for k, a in self._data.items():
                grown = np.zeros(new_cap, dtype=a.dtype)
                grown[: self.n] = a[: self.n]
                self._data[k] = grown
        for k, v in cols.items():
            self._data[k][self.n : need] = v
        idx = np.arange(self.n, need)
        self.n = need
        return idx

    def __getitem__(self, key: str) -> np.ndarray:
        """A live view of the filled part; writes through."""
        return self._data[key][: self.n]

    def set(self, key: str, idx: np.ndarray, values: np.ndarray | int | float) -> None:
        self._data[key][idx] = values
