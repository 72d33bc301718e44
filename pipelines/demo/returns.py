"""Customer returns, decided when a line ships (its delivery date is known then).

Each reason has its own cause: late deliveries raise `late_delivery`, the primary supplier's defect
rate raises `defective`, the carrier's handling raises `damaged`, 3pl picking raises `wrong_item`,
and the category sets how often customers change their mind. One uniform per line picks both
whether and why it comes back, so the reason mix follows the hazards exactly.
"""

from __future__ import annotations

import numpy as np

from pipelines.feeds.contract import DISPOSITIONS, RETURN_REASONS

from .arrays import Columns
from .config import DAY_SECONDS
from .customers import Pool
from .fulfilment import CARRIERS
from .masters import CATEGORIES, Products, Suppliers, WarehouseSpec

RETURN_FIELDS: dict[str, type] = {
    "line": np.int64,
    "qty": np.int32,
    "reason": np.int8,
    "requested_ts": np.int64,
    "received_ts": np.int64,
    "disposition": np.int8,
    "refund": np.int64,
}
NOT_RECEIVED = -1
NEVER_SENT_BACK = 0.05  # requested, but the parcel never arrives
_DISPOSITION_P = {  # what happens to the goods, by why they came back
    "damaged": {"restock": 0.05, "refurbish": 0.45, "scrap": 0.40, "return_to_vendor": 0.10},
    "defective": {"refurbish": 0.15, "scrap": 0.25, "return_to_vendor": 0.60},
    "wrong_item": {"restock": 0.95, "refurbish": 0.05},
    "not_as_described": {"restock": 0.70, "refurbish": 0.20, "scrap": 0.05, "return_to_vendor": 0.05},
    "no_longer_needed": {"restock": 0.92, "refurbish": 0.06, "scrap": 0.02},
    "late_delivery": {"restock": 0.95, "refurbish": 0.05},
    "other": {"restock": 0.70, "refurbish": 0.10, "scrap": 0.20},
}
_DISPOSITION_MATRIX = np.array(
    [[_DISPOSITION_P.get(r, {"restock": 1.0}).get(d, 0.0) for d in DISPOSITIONS] for r in RETURN_REASONS]
)


def new_returns() -> Columns:
    return Columns(RETURN_FIELDS, capacity=1024)


def _hazards(
    book: Columns,
    lines: np.ndarray,
    day: int,
    products: Products,
    suppliers: Suppliers,
    pools: tuple[Pool, ...],
    whs: tuple[WarehouseSpec, ...],
) -> np.ndarray:
    """(n_lines, n_reasons) probability that a line comes back for each reason."""
    sku = book["sku"][lines]
    cat_rate = np.array([c.return_rate for c in CATEGORIES])[products.category[sku]]
    b2b = np.array([p.channel == "wholesale" for p in pools])[book["pool"][lines]]
    mind = np.where(b2b, 0.3, 1.0) * cat_rate  # customers changing their mind
    late = (book["delivered_ts"][lines] // DAY_SECONDS) > book["promised"][lines]
    defect = suppliers.defect[products.supplier[day, sku]]
    third_party = np.array([w.operator == "3pl" for w in whs])[book["wh"][lines]]
    by_reason = {
        "damaged": np.array([c.damage for c in CARRIERS])[book["carrier"][lines]],
        "defective": 0.002 + 2.5 * defect,
        "wrong_item": np.where(third_party, 0.008, 0.004),
        "not_as_described": 0.35 * mind,
        "no_longer_needed": 0.55 * mind,
        "late_delivery": np.where(late, np.where(b2b, 0.01, 0.06), 0.0),
        "other": 0.10 * mind,
    }
    zero = np.zeros(lines.size)
    return np.stack([by_reason.get(reason, zero) for reason in RETURN_REASONS], axis=1)


def schedule_returns(
    book: Columns,
    lines: np.ndarray,
    day: int,
    r: np.random.Generator,
    products: Products,
    suppliers: Suppliers,
    pools: tuple[Pool, ...],
    whs: tuple[WarehouseSpec, ...],
) -> dict[str, np.ndarray]:
    hz = _hazards(book, lines, day, products, suppliers, pools, whs)
    cum = np.cumsum(hz, axis=1)
    u = r.random(lines.size)
    back = u < cum[:, -1]
    lines, cum, u = lines[back], cum[back], u[back]
    reason = (u[:, None] >= cum).sum(axis=1)
    n = lines.size
    shipped = book["shipped_qty"][lines].astype(np.int64)
    b2b = np.array([p.channel == "wholesale" for p in pools])[book["pool"][lines]]
    qty = 1 + r.binomial(shipped - 1, np.where(b2b, 0.25, 0.6))
    requested = book["delivered_ts"][lines] + ((0.3 + np.minimum(r.exponential(5.0, size=n), 27)) * DAY_SECONDS).astype(
        np.int64
    )
    arrives = r.random(n) >= NEVER_SENT_BACK
    transit = (2 + r.gamma(2.0, 2.0, size=n)) * DAY_SECONDS
    received = np.where(arrives, requested + transit.astype(np.int64), NOT_RECEIVED)
    disp = (r.random(n)[:, None] >= np.cumsum(_DISPOSITION_MATRIX, axis=1)[reason]).sum(axis=1)
    disp = np.minimum(disp, len(DISPOSITIONS) - 1)
    # A restocking fee on some change-of-mind returns; everything else is refunded in full.
    fee = (np.array(RETURN_REASONS)[reason] == "no_longer_needed") & (r.random(n) < 0.12)
    refund = np.round(qty * book["price"][lines] * np.where(fee, 0.9, 1.0)).astype(np.int64)
    return {
        "line": lines,
        "qty": qty,
        "reason": reason,
        "requested_ts": requested,
        "received_ts": received,
        "disposition": np.where(arrives, disp, -1),
        "refund": refund,
    }
