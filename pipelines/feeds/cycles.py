"""Cycles in a graph given as rows of edges: the rule `acyclic` (a bill of materials in which a sku is,
through its components, its own component).

An edge lies on a cycle exactly when both its ends are in one strongly connected component (Tarjan's
algorithm, iteratively: a deep bill of materials must not hit Python's recursion limit). Only the edges
asked about are then named, each by one shortest way back: `a -> b -> a`. A bill of materials has a few
thousand rows; the graph is walked in Python, not in a dataframe.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import polars as pl


def strongly_connected(edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Node -> the number of its strongly connected component."""
    graph: dict[str, list[str]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    component: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    counter = components = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = components
                    if member == node:
                        break
                components += 1
    return component


def _way_back(graph: dict[str, list[str]], start: str, goal: str) -> list[str]:
    """A shortest path start -> ... -> goal (breadth first); it exists when both are in one component."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for child in graph.get(node, ()):
            if child not in came_from:
                came_from[child] = node
                queue.append(child)
    path, node = [], goal
    while node is not None:
        path.append(node)
        node = came_from[node]
    return path[::-1]


def cycles_through(candidates: pl.DataFrame, graph_edges: pl.DataFrame, parent: str, child: str) -> pl.Series:
    """Per row of `candidates` (columns `parent`, `child`), the cycle its edge lies on in the graph of
    `graph_edges` (which should hold the candidates' edges too), written `a -> b -> a` from the row's parent;
    null for an edge on no cycle (or with a null end). A self-loop (`a -> a`) is a cycle too."""
    edges = {(a, b) for a, b in graph_edges.select(parent, child).iter_rows() if a is not None and b is not None}
    component = strongly_connected(sorted(edges))
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    out: list[str | None] = []
    named: dict[tuple[str, str], str] = {}
    for a, b in candidates.select(parent, child).iter_rows():
        if a is None or b is None or (a, b) not in edges:
            out.append(None)
        elif a == b:
            out.append(f"{a} -> {a}")
        elif component[a] != component[b]:
            out.append(None)
        else:
            if (a, b) not in named:
                named[(a, b)] = " -> ".join([a, *_way_back(graph, b, a)])
            out.append(named[(a, b)])
    return pl.Series("cycle", out, dtype=pl.String)
