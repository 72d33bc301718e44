"""The feed contract (v1) as data: the one place that says what each feed holds.

The demo-data generator writes these columns, the reader casts to these types, the validation
(polars for the quarantine split, Great Expectations for the asset checks) evaluates these rules,
and `docs/feed-contract.md` is rendered from them. Nothing else in the project spells out a feed's
columns or rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DType = Literal["str", "int", "dec", "date", "ts"]

# Money is stored exactly: sums of prices and costs must agree with a hand computation.
DECIMAL_PRECISION, DECIMAL_SCALE = 18, 4

# Plausibility bounds the contract leaves open. A quantity above this on one line is a typo or a
# unit mix-up far more often than a real order; a timestamp this far in the future is a clock or
# format error. Both quarantine the row instead of skewing every KPI downstream.
MAX_LINE_QUANTITY = 100_000
FUTURE_TOLERANCE_DAYS = 1

# Why a whole file is rejected (its rows are not read). Row-level rules are below, per feed, and
# the two implied by each column are `not_null:<column>` and `type:<column>`.
FILE_REJECT_REASONS = {
    "unreadable": "not a CSV or Parquet file, or malformed beyond the row level",
    "encoding": "not UTF-8 text",
    "empty": "no header or no rows",
    "missing_columns": "a required column is missing",
}

# Row numbers in quarantine and messages count data rows from 1 (a CSV's header is not a row).

CHANNELS = ("web", "marketplace", "wholesale")
ORDER_STATUSES = ("open", "shipped", "delivered", "cancelled")
PO_STATUSES = ("open", "received", "cancelled")
RETURN_REASONS = (
    "damaged",
    "defective",
    "wrong_item",
    "not_as_described",
    "no_longer_needed",
    "late_delivery",
    "other",
)
DISPOSITIONS = ("restock", "refurbish", "scrap", "return_to_vendor")
OPERATORS = ("own", "3pl")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: DType
    description: str
    nullable: bool = False
    key: bool = False


@dataclass(frozen=True)
class Rule:
    """One row-level rule. `kind` picks how both engines evaluate it:

    - `pattern`: column matches the regular expression `regex`; nulls pass.
    - `between`: min <= column <= max (strict_min makes it min < column); nulls pass.
    - `in_set`: column in values; nulls pass.
    - `pair_ge`: column >= other, compared as dates when `as_date`; rows where either is null pass.
    - `null_when`: column is null on rows where `when_column == when_value`.
    - `not_future`: column <= load time + FUTURE_TOLERANCE_DAYS.
    - `unique_key`: the key (with the version column) appears once in the file; later copies break it.

    Not-null and type rules are not listed here: they follow from each Column's `nullable` and `dtype`
    and are named `not_null:<column>` and `type:<column>`.
    """

    name: str
    kind: Literal["pattern", "between", "in_set", "pair_ge", "null_when", "not_future", "unique_key"]
    column: str
    description: str
    min: float | None = None
    max: float | None = None
    strict_min: bool = False
    values: tuple[str, ...] = ()
    regex: str | None = None
    other: str | None = None
    as_date: bool = False
    when_column: str | None = None
    when_value: str | None = None


@dataclass(frozen=True)
class Feed:
    name: str
    description: str
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = field(default_factory=tuple)
    # Column that orders versions of a key; None means "the later file wins" (inventory snapshots).
    version_column: str | None = "updated_at"
    # A new file is expected at least this often (the freshness check warns after it); None = master
    # data, sent when it changes.
    expected_every_hours: int | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.key)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns a file must have; a nullable column may be absent (it loads as null)."""
        return tuple(c.name for c in self.columns if not c.nullable)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def all_rules(self) -> tuple[Rule, ...]:
        """Declared rules plus the key's uniqueness within a file. (`not_null:` and `type:` rules follow
        from the columns and are evaluated beside these, see `rules.evaluate`.)"""
        dedup_on = self.key + ((self.version_column,) if self.version_column else ())
        unique = Rule(
            name="unique_key",
            kind="unique_key",
            column=",".join(dedup_on),
            description=f"({', '.join(dedup_on)}) must be unique within a file",
        )
        return (*self.rules, unique)


def _positive(column: str, *, at_least: float = 0, strict: bool = True, max: float | None = None) -> Rule:
    op = ">" if strict else ">="
    text = f"{column} must be {op} {at_least:g}" + (f" and <= {max:,.0f}" if max is not None else "")
    return Rule(
        name=f"{column}_range",
        kind="between",
        column=column,
        description=text,
        min=at_least,
        max=max,
        strict_min=strict,
    )


def _in_set(column: str, values: tuple[str, ...]) -> Rule:
    return Rule(
        name=f"{column}_accepted",
        kind="in_set",
        column=column,
        values=values,
        description=f"{column} must be one of {', '.join(values)}",
    )


def _ge(column: str, other: str, *, as_date: bool = False) -> Rule:
    return Rule(
        name=f"{column}_ge_{other}",
        kind="pair_ge",
        column=column,
        other=other,
        as_date=as_date,
        description=f"{column} must be >= {other}" + (" (as a date)" if as_date else ""),
    )


def _not_future(column: str) -> Rule:
    return Rule(
        name=f"{column}_not_future",
        kind="not_future",
        column=column,
        description=f"{column} must not be more than {FUTURE_TOLERANCE_DAYS} day in the future",
    )


_ISO2_COUNTRY = Rule(
    name="country_iso2",
    kind="pattern",
    column="country",
    regex="^[A-Z]{2}$",
    description="country must be an ISO-3166 alpha-2 code (two capital letters)",
)

UPDATED_AT = Column("updated_at", "ts", "When this version of the row was written (ISO-8601).", nullable=True)

PRODUCTS = Feed(
    name="products",
    description="Product master data: one row per sku; a later version replaces an earlier one.",
    columns=(
        Column("sku", "str", "Stock-keeping unit.", key=True),
        Column("product_name", "str", "Display name."),
        Column("category", "str", "Product category."),
        Column("subcategory", "str", "Product subcategory.", nullable=True),
        Column("unit_cost", "dec", "Cost of one unit."),
        Column("list_price", "dec", "List price of one unit (>= unit_cost is usual, not enforced)."),
        Column("primary_supplier_id", "str", "Supplier that normally sources the sku.", nullable=True),
        UPDATED_AT,
    ),
    rules=(_positive("unit_cost"), _positive("list_price", strict=False)),
)

WAREHOUSES = Feed(
    name="warehouses",
    description="Warehouse master data: own sites and fulfilment partners (3pl).",
    columns=(
        Column("warehouse_id", "str", "Warehouse identifier.", key=True),
        Column("warehouse_name", "str", "Display name."),
        Column("region", "str", "Sales region the warehouse serves."),
        Column("country", "str", "ISO-3166 alpha-2 country; drives the holiday calendar of its demand."),
        Column("operator", "str", "`own` fulfilment or a `3pl` fulfilment partner."),
        UPDATED_AT,
    ),
    rules=(
        _in_set("operator", OPERATORS),
        _ISO2_COUNTRY,
    ),
)

SUPPLIERS = Feed(
    name="suppliers",
    description="Supplier master data.",
    columns=(
        Column("supplier_id", "str", "Supplier identifier.", key=True),
        Column("supplier_name", "str", "Display name."),
        Column("country", "str", "ISO-3166 alpha-2 country."),
        Column("payment_terms_days", "int", "Days until an invoice is due."),
        Column("contracted_lead_time_days", "int", "Lead time the supplier contracted to, in days."),
        UPDATED_AT,
    ),
    rules=(
        _positive("payment_terms_days", strict=False),
        _positive("contracted_lead_time_days"),
        _ISO2_COUNTRY,
    ),
)

ORDERS = Feed(
    name="orders",
    expected_every_hours=26,
    description="Customer order lines; a line is re-sent with a newer updated_at as its status changes.",
    columns=(
        Column("order_id", "str", "Order identifier.", key=True),
        Column("line_number", "int", "Line within the order, from 1.", key=True),
        Column("order_ts", "ts", "When the order was placed."),
        Column("customer_id", "str", "Customer identifier."),
        Column("channel", "str", "Sales channel: web, marketplace or wholesale."),
        Column("ship_to_region", "str", "Region the line ships to."),
        Column("sku", "str", "Ordered sku; refers to products."),
        Column("warehouse_id", "str", "Fulfilling warehouse; refers to warehouses."),
        Column("quantity_ordered", "int", "Units ordered."),
        Column("unit_price", "dec", "Price actually charged per unit."),
        Column("promised_date", "date", "Delivery date committed to the customer."),
        Column("status", "str", "open, shipped, delivered or cancelled."),
        Column("quantity_shipped", "int", "Units shipped; null while open.", nullable=True),
        Column("shipped_ts", "ts", "When the line left the warehouse.", nullable=True),
        Column("delivered_ts", "ts", "When the line reached the customer.", nullable=True),
        Column("carrier", "str", "Carrier that delivered the line.", nullable=True),
        Column("shipping_cost", "dec", "Shipping cost allocated to the line.", nullable=True),
        Column("updated_at", "ts", "When this version of the line was written."),
    ),
    rules=(
        _positive("line_number", at_least=1, strict=False),
        _positive("quantity_ordered", max=MAX_LINE_QUANTITY),
        _positive("unit_price", strict=False),
        _in_set("channel", CHANNELS),
        _in_set("status", ORDER_STATUSES),
        _positive("quantity_shipped", strict=False),
        _ge("quantity_ordered", "quantity_shipped"),
        Rule(
            name="quantity_shipped_null_while_open",
            kind="null_when",
            column="quantity_shipped",
            when_column="status",
            when_value="open",
            description="quantity_shipped must be null while open",
        ),
        _positive("shipping_cost", strict=False),
        _ge("promised_date", "order_ts", as_date=True),
        _ge("shipped_ts", "order_ts"),
        _ge("delivered_ts", "shipped_ts"),
        _not_future("order_ts"),
        # The current version is the latest updated_at: one far-future typo would hide every later version.
        _not_future("updated_at"),
    ),
)

INVENTORY = Feed(
    name="inventory",
    expected_every_hours=26,
    description="End-of-day stock snapshot per day, warehouse and sku.",
    columns=(
        Column("snapshot_date", "date", "Day the snapshot closes.", key=True),
        Column("warehouse_id", "str", "Warehouse.", key=True),
        Column("sku", "str", "Sku.", key=True),
        Column("on_hand_qty", "int", "Units physically on hand."),
        Column("reserved_qty", "int", "Units on hand allocated to open orders."),
    ),
    rules=(
        # on_hand_qty >= 0 follows from these two.
        _positive("reserved_qty", strict=False),
        _ge("on_hand_qty", "reserved_qty"),
        _not_future("snapshot_date"),
    ),
    version_column=None,
)

PURCHASE_ORDERS = Feed(
    name="purchase_orders",
    expected_every_hours=26,
    description="Purchase-order lines with their receipt; re-sent as they are received.",
    columns=(
        Column("po_id", "str", "Purchase order identifier.", key=True),
        Column("line_number", "int", "Line within the PO, from 1.", key=True),
        Column("supplier_id", "str", "Supplier; refers to suppliers."),
        Column("sku", "str", "Sku; refers to products."),
        Column("warehouse_id", "str", "Receiving warehouse."),
        Column("order_date", "date", "Day the PO was placed."),
        Column("promised_date", "date", "Arrival date the supplier committed to."),
        Column("quantity_ordered", "int", "Units ordered."),
        Column("unit_cost", "dec", "Cost per unit on the PO."),
        Column("status", "str", "open, received or cancelled."),
        Column("received_date", "date", "Day the goods arrived.", nullable=True),
        Column("quantity_received", "int", "Units received.", nullable=True),
        Column("quantity_rejected", "int", "Units that failed inbound quality control.", nullable=True),
        Column("updated_at", "ts", "When this version of the line was written."),
    ),
    rules=(
        _positive("line_number", at_least=1, strict=False),
        _positive("quantity_ordered", max=MAX_LINE_QUANTITY),
        _positive("unit_cost", strict=False),
        _in_set("status", PO_STATUSES),
        _ge("promised_date", "order_date"),
        _ge("received_date", "order_date"),
        _positive("quantity_received", strict=False, max=MAX_LINE_QUANTITY),
        _positive("quantity_rejected", strict=False),
        _ge("quantity_received", "quantity_rejected"),
        _not_future("order_date"),
        _not_future("updated_at"),
    ),
)

RETURNS = Feed(
    name="returns",
    expected_every_hours=26,
    description="Customer returns, one row per returned order line.",
    columns=(
        Column("return_id", "str", "Return identifier.", key=True),
        Column("order_id", "str", "Order of the returned line."),
        Column("line_number", "int", "Line of the returned order line."),
        Column("sku", "str", "Returned sku."),
        Column("requested_ts", "ts", "When the customer asked to return."),
        Column("received_ts", "ts", "When the goods arrived back.", nullable=True),
        Column("quantity_returned", "int", "Units returned; at most the quantity shipped on the line."),
        Column("reason_code", "str", "Why the customer returned it."),
        Column("disposition", "str", "What happened to the goods; null until received.", nullable=True),
        Column("refund_amount", "dec", "Amount refunded."),
        Column("updated_at", "ts", "When this version of the return was written."),
    ),
    rules=(
        _positive("quantity_returned", max=MAX_LINE_QUANTITY),
        _in_set("reason_code", RETURN_REASONS),
        _in_set("disposition", DISPOSITIONS),
        _positive("refund_amount", strict=False),
        _ge("received_ts", "requested_ts"),
        _not_future("requested_ts"),
        _not_future("updated_at"),
    ),
)

FEEDS: dict[str, Feed] = {
    f.name: f for f in (PRODUCTS, WAREHOUSES, SUPPLIERS, ORDERS, INVENTORY, PURCHASE_ORDERS, RETURNS)
}
