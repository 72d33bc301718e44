"""Demo-data generator: a simulated supply chain written as the daily feeds of the contract.

    summary = generate(Path("data/landing"), scale=0.1, seed=7)

The world always starts on WORLD_START (or on `start` if earlier) and is simulated up to the last
requested day; only files dated in [start, start + days) are written. Runs with the same seed and
scale therefore continue one another: a later one-day run writes exactly that day's files of the
same world, including new versions of older order lines that changed on that day.

By default the business also manufactures part of its assortment and sends the optional Make feeds;
`make=False` gives the pure trader, which sends none of them.

The output is streamed: after the simulation, each feed is built and written a calendar month of file
days at a time (see tables.py and writer.py), so memory holds the simulated world plus one month of
one feed, never a whole feed. Files never straddle windows (one file per feed and day), so the files
are the same whatever the windows. With `faults=True` (meant for small test worlds) each feed is
built whole, because its bad rows are drawn from all of its real rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

from pipelines.feeds.contract import FEEDS

from .config import WORLD_START, World
from .faults import referenced_view, write_feed_faults, write_manifest
from .simulation import simulate
from .tables import BUILDERS
from .writer import month_windows, write_feed

__all__ = ["WORLD_START", "GenerateSummary", "generate"]


@dataclass(frozen=True)
class GenerateSummary:
    """What was written. Counts cover every file in a feed's folder, fault files included; rows are
    the data rows of the files a loader can read (whole-file rejects hold none that count)."""

    files_written: dict[str, int]
    rows_written: dict[str, int]
    manifest_path: Path | None


def generate(
    out_dir: Path,
    *,
    scale: float = 0.1,
    seed: int = 7,
    start: date = date(2024, 1, 1),
    days: int = 730,
    fmt: Literal["csv", "parquet"] = "csv",
    faults: bool = False,
    make: bool = True,
) -> GenerateSummary:
    """Write the feeds of days [start, start + days) of the world (seed, scale) under out_dir."""
    if days < 1 or scale <= 0 or seed < 0:
        raise ValueError("days must be >= 1, scale > 0 and seed >= 0")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    end = start + timedelta(days=days - 1)
    if end > datetime.now(UTC).date():
        raise ValueError(f"the last day ({end}) is in the future; feeds only describe the past")
    out_dir = Path(out_dir)
    world = World(seed=seed, scale=scale, origin=min(start, WORLD_START), end=end, make=make)
    result = simulate(world)
    first, last = world.day_index(start), world.n_days - 1
    files, rows, entries = {}, {}, []
    referenced = {}  # what later feeds' cross-feed rules read of the feeds written before them
    for name, feed in FEEDS.items():  # one feed at a time, one window of days at a time
        if feed.optional and not make:  # the Make feeds: a trader sends none
            continue
        build = BUILDERS[name]
        if not faults:
            files[name] = rows[name] = 0
            for table in build(result, month_windows(world.origin, first, last)):
                n_files, n_rows = write_feed(out_dir, name, table, world.origin, fmt)
                files[name] += n_files
                rows[name] += n_rows
                del table  # before the next window is built
            continue
        # Faults are made for small test worlds only, from the whole feed at once: bad rows are built
        # from real ones, and a short increment may not hold every kind of row.
        (table,) = build(result, [(first, last)])
        files[name], rows[name] = write_feed(out_dir, name, table, world.origin, fmt)
        (source,) = (table,) if first == 0 else build(result, [(0, last)])
        found, n_files, n_rows = write_feed_faults(out_dir, feed, source, end, fmt, seed, referenced)
        entries += found
        files[name] += n_files
        rows[name] += n_rows
        view = referenced_view(feed, source)
        if view is not None:
            referenced[name] = view
    manifest = write_manifest(out_dir, entries) if faults else None
    return GenerateSummary(files_written=files, rows_written=rows, manifest_path=manifest)
