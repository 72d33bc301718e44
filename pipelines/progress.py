"""Progress of long steps (forecasting), for whoever is watching: Dagster's log always, and a bar on the
terminal when `scm run` asked for one. The CLI runs the job in its own process, so a callback set here
reaches the asset; under `dagster dev` nothing is set and only the log lines remain."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

_sink: Callable[[str, int, int], None] | None = None


def set_sink(sink: Callable[[str, int, int], None] | None) -> None:
    global _sink
    _sink = sink


def reporter(label: str, log: Callable[[str], None], every: float = 0.1) -> Callable[[int, int], None]:
    """progress(done, total): a log line at each `every` share of the total, and every call to the sink."""
    next_share = [0.0]

    def progress(done: int, total: int) -> None:
        if _sink is not None:
            _sink(label, done, total)
        share = done / total if total else 1.0
        if share >= next_share[0]:
            log(f"{label}: {done:,}/{total:,} series")
            next_share[0] = share + every

    return progress


class TerminalBar:
    """`label [#####-----] 1,200/3,937 (30%) 0:42` redrawn in place on stderr (a line per update when
    stderr is not a terminal, at most one every few seconds)."""

    def __init__(self, stream=sys.stderr, width: int = 30, min_interval: float = 5.0) -> None:
        self.stream, self.width, self.min_interval = stream, width, min_interval
        self.started: float | None = None
        self.last = 0.0

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        self.started = self.started or now
        tty = self.stream.isatty()
        finished = done >= total
        if not tty and not finished and now - self.last < self.min_interval:
            return
        self.last = now
        share = done / total if total else 1.0
        filled = round(self.width * share)
        elapsed = int(now - self.started)
        line = (
            f"{label} [{'#' * filled}{'-' * (self.width - filled)}] {done:,}/{total:,} "
            f"({share:.0%}) {elapsed // 60}:{elapsed % 60:02d}"
        )
        self.stream.write(("\r" + line + ("\n" if finished else "")) if tty else line + "\n")
        self.stream.flush()
