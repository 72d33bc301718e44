"""Extra columns that look like a contract column the file lacks: a header spelt a little differently
(`qty_shipped`, `shiped_ts`, `ShippedQuantity`) loads as an extra column while the contract column stays null.

The reader already matches names ignoring case, blanks, `_` and `-`, so what is left here is near misses:
common abbreviations, words in another order, and typos (difflib's similarity of the names' letters).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# Abbreviations in export headers, and the word the contract's names use for them.
ABBREVIATIONS = {
    "qty": "quantity",
    "qnty": "quantity",
    "quant": "quantity",
    "amt": "amount",
    "no": "number",
    "num": "number",
    "nbr": "number",
    "nr": "number",
    "ln": "line",
    "dt": "date",
    "ts": "timestamp",
    "time": "timestamp",
    "datetime": "timestamp",
    "wh": "warehouse",
    "whse": "warehouse",
    "cust": "customer",
    "recv": "received",
    "rcvd": "received",
    "deliv": "delivered",
    "ship": "shipped",
}
# Two names whose letters are at least this similar (after the above) are one name misspelt.
SIMILARITY = 0.8

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _words(name: str) -> list[str]:
    return [ABBREVIATIONS.get(w.lower(), w.lower()) for w in _WORDS.findall(name)]


def look_alike(extra: str, candidates: list[str]) -> str | None:
    """The candidate `extra` most resembles, if any does: the same words (abbreviations spelt out) in any
    order, or letters at least SIMILARITY alike."""
    words = _words(extra)
    best, best_score = None, SIMILARITY
    for name in candidates:
        theirs = _words(name)
        if sorted(words) == sorted(theirs):
            return name
        score = SequenceMatcher(None, "".join(words), "".join(theirs)).ratio()
        if score >= best_score:
            best, best_score = name, score
    return best


def misnamed_columns(extra: list[str], missing: list[str]) -> list[tuple[str, str]]:
    """(extra column, the missing column it looks like) for every extra column that looks like one."""
    pairs = []
    for column in extra:
        match = look_alike(column, missing)
        if match is not None:
            pairs.append((column, match))
    return pairs
