"""Peak resident memory of a process tree, for the benchmarks."""

from __future__ import annotations

import os
import threading
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


class TreeMemory(threading.Thread):
    """Peak resident memory of a process (this one by default) and all its descendants (a process pool,
    dbt, the Stan runs), sampled every 200 ms from /proc. ru_maxrss would not do: Linux carries it over
    fork and exec, so a child reports its parent's peak, and it does not add up processes."""

    def __init__(self, root: int | None = None) -> None:
        super().__init__(daemon=True)
        self.root = root or os.getpid()
        self.peak = 0
        self._done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.tree_rss(self.root))
            self._done.wait(0.2)

    def stop(self) -> None:
        self._done.set()
        self.join()

    @staticmethod
    def tree_rss(root: int) -> int:
        parent: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                parent[int(stat.parent.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
        tree, frontier = {root}, [root]
        while frontier:
            frontier = [pid for pid, ppid in parent.items() if ppid in frontier and pid not in tree]
            tree.update(frontier)
        total = 0
        for pid in tree:
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
            except (OSError, IndexError, ValueError):
                continue
        return total
