"""The demo simulation's stores: working columns hold the rows in play only and read the same; a
narrow history widens rather than wraps."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.demo.arrays import Columns, put_row

DTYPES = {"day": np.int32, "qty": np.int64, "u": np.float64, "flag": np.bool_}


def test_working_columns_read_like_whole_ones_for_the_rows_in_play() -> None:
    r = np.random.default_rng(1)
    whole = Columns(DTYPES, capacity=4)
    lean = Columns(DTYPES, capacity=4, working=("u", "flag"))
    in_play = np.zeros(0, np.int64)
    for day in range(200):
        m = int(r.integers(0, 40))
        cols = {"day": np.full(m, day), "qty": r.integers(1, 9, m), "u": r.random(m), "flag": r.random(m) < 0.5}
        if m:
            assert np.array_equal(whole.append(**cols), idx := lean.append(**cols))
            in_play = np.concatenate([in_play, idx])
        lean.set("u", in_play[::3], day / 1000)  # working columns are written as well as read
        whole.set("u", in_play[::3], day / 1000)
        for key in DTYPES:
            assert np.array_equal(lean.take(key, in_play), whole.take(key, in_play)), (day, key)
        in_play = in_play[whole["day"][in_play] > day - 5]  # rows leave play after a few days
        lean.release_before(int(in_play.min()) if in_play.size else lean.n)
    # The working columns hold the rows in play, not every row appended.
    held = next(iter(lean._work.values())).size
    assert lean.n > 4 * held
    with pytest.raises(IndexError):
        lean.take("u", np.array([0]))
    with pytest.raises(KeyError):
        lean["u"]  # no view of every row: a working column is read by row
    lean.trim()
    assert set(lean._data) == {"day", "qty"} and all(a.size == lean.n for a in lean._data.values())
    assert np.array_equal(lean["qty"], whole["qty"])


def test_a_history_row_that_does_not_fit_widens_the_history() -> None:
    rows = np.zeros((3, 2), np.int32)
    rows = put_row(rows, 0, np.array([5, -7]))
    assert rows.dtype == np.int32
    big = np.array([2**31, -1], dtype=np.int64)
    rows = put_row(rows, 1, big)
    assert rows.dtype == np.int64 and rows.tolist() == [[5, -7], [2**31, -1], [0, 0]]
