"""The feed contract (v1) as data: the one place that says what each feed holds.

The demo-data generator writes these columns, the reader casts to these types, the validation
(polars for the quarantine split, Great Expectations for the asset checks) evaluates these rules,
and `docs/feed-contract.md` is rendered from them. Nothing else in the project spells out a feed's
columns or rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

DType = Literal["str", "int", "dec", "date", "ts"]

# Money is stored exactly: sums of prices and costs must agree with a hand computation.
DECIMAL_PRECISION, DECIMAL_SCALE = 18, 4

# Plausibility bounds the contract leaves open. A quantity above this on one line is a typo or a
# unit mix-up far more often than a real order; a timestamp this far in the future is a clock or
# format error. Both quarantine the row instead of skewing every KPI downstream.
MAX_LINE_QUANTITY = 100_000
FUTURE_TOLERANCE_DAYS = 1
# No feed describes anything before this day: an earlier date or timestamp is a system default (1970-01-01,
# 1900-01-01) or a typo. Every date and timestamp column gets the rule `<column>_min_date`.
MIN_DATE = date(2000, 1, 1)
# A refund may exceed the price of the returned units by this much: systems that refund a line's total
# divided by its units, or store a rounded unit price, are a cent out.
REFUND_TOLERANCE = 0.01

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
WORK_ORDER_STATUSES = ("planned", "released", "in_progress", "completed", "cancelled")
SCRAP_REASONS = ("component_defect", "machine", "operator", "setup", "other")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: DType
    description: str
    nullable: bool = False
    key: bool = False


@dataclass(frozen=True)
class When:
    """The rows a conditional rule applies to: those whose `column` is one of `values`; with no values,
    those where `column` is null. With `positive` (a number column): True selects the rows where it is
    > 0, False those where it is null or <= 0 (no scrap: none recorded, or 0)."""

    column: str
    values: tuple[str, ...] = ()
    positive: bool | None = None

    def describe(self) -> str:
        if self.positive is not None:
            return f"when {self.column} > 0" if self.positive else f"when {self.column} is null or 0"
        if not self.values:
            return f"while {self.column} is null"
        return f"when {self.column} is {' or '.join(self.values)}"


@dataclass(frozen=True)
class Reference:
    """Columns of a feed that hold the key of another feed's row (a return's order line)."""

    feed: str
    columns: tuple[str, ...]  # in the order of the referenced feed's key


@dataclass(frozen=True)
class Rule:
    """One row-level rule. `kind` picks how both engines evaluate it:

    - `pattern`: column matches the regular expression `regex`; nulls pass.
    - `between`: min <= column <= max (strict_min makes it min < column, strict_max column < max); nulls pass.
    - `in_set`: column in values; nulls pass.
    - `pair_ge`: column >= other, compared as dates when `as_date`; rows where either is null pass.
    - `pair_ne`: column <> other; rows where either is null pass.
    - `null_when`: column is null on the rows `when` selects.
    - `required_when`: column is not null on the rows `when` selects.
    - `not_future`: column <= load time + FUTURE_TOLERANCE_DAYS.
    - `min_date`: column >= MIN_DATE (one per date and timestamp column, see `Feed.all_rules`); nulls pass.
    - `unique_key`: the key (with the version column) appears once in the file; later copies break it.
    - `at_most_referenced` (cross-feed): column <= `other` of the row `references` points at, times this
      row's `factor` column when set, plus `tolerance`; a null `other` counts as 0. With `summed`, the column
      is added up with the other rows (by key, their current versions) that refer to the same row. A row
      whose referenced row is not (yet) loaded passes: the contract loads unknown references.
    - `acyclic` (cross-row): the rows are edges `other` -> `column` of a graph (a parent and its component);
      a row whose edge lies on a cycle, with the feed's loaded rows and the batch's other rows, breaks it
      (pipelines/feeds/cycles.py). Loaded rows stay; the batch's rows on the cycle are held back.

    `when` makes a `between` rule conditional too. Not-null and type rules are not listed here: they follow
    from each Column's `nullable` and `dtype` and are named `not_null:<column>` and `type:<column>`.
    """

    name: str
    kind: Literal[
        "pattern",
        "between",
        "in_set",
        "pair_ge",
        "null_when",
        "required_when",
        "not_future",
        "min_date",
        "unique_key",
        "at_most_referenced",
        "pair_ne",
        "acyclic",
    ]
    column: str
    description: str
    min: float | None = None
    max: float | None = None
    strict_min: bool = False
    strict_max: bool = False
    values: tuple[str, ...] = ()
    regex: str | None = None
    other: str | None = None
    as_date: bool = False
    when: When | None = None
    references: Reference | None = None
    factor: str | None = None
    summed: bool = False
    tolerance: float = 0


@dataclass(frozen=True)
class Outlier:
    """A value that is possible but suspicious: more than `factor` times the usual value of its `group`
        (a quantile, by default the median, over every loaded row of the group; a usual value below 1 counts as 1,
    so that a group that is usually zero is judged too). Such rows load; a WARN check lists them."""

    name: str
    column: str
    group: tuple[str, ...]
    factor: float
    description: str
    # The usual value is this quantile of the group's loaded values: the median, unless the column cycles
    # (stock on hand runs down to a few units and is refilled, so its median is far below its normal peaks).
    quantile: float = 0.5


@dataclass(frozen=True)
class Feed:
    name: str
    description: str
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = field(default_factory=tuple)
    # Column that orders versions of a key; None means "the later delivery wins" (inventory snapshots).
    version_column: str | None = "updated_at"
    # A new file is expected at least this often (the freshness check warns after it); None = master
    # data, sent when it changes.
    expected_every_hours: int | None = None
    outliers: tuple[Outlier, ...] = field(default_factory=tuple)
    # An optional feed is sent only by some businesses (the Make feeds: a manufacturer's, not a trader's).
    # Its folder may be absent and it may never have a file: no check, freshness or message counts that
    # against it; its raw tables exist (empty) all the same, so the models that read it build.
    optional: bool = False

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
        """The date floor of every date and timestamp column, the declared rules, and the key's uniqueness
        within a file. (`not_null:` and `type:` rules follow from the columns and are evaluated beside
        these, see `rules.evaluate`.)"""
        floors = tuple(
            Rule(
                name=f"{c.name}_min_date",
                kind="min_date",
                column=c.name,
                description=f"{c.name} must be on or after {MIN_DATE.isoformat()} (earlier is a default or a typo)",
            )
            for c in self.columns
            if c.dtype in ("date", "ts")
        )
        dedup_on = self.key + ((self.version_column,) if self.version_column else ())
        unique = Rule(
            name="unique_key",
            kind="unique_key",
            column=",".join(dedup_on),
            description=f"({', '.join(dedup_on)}) must be unique within a file",
        )
        return (*floors, *self.rules, unique)


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


def _ne(column: str, other: str) -> Rule:
    return Rule(
        name=f"{column}_ne_{other}",
        kind="pair_ne",
        column=column,
        other=other,
        description=f"{column} must differ from {other}",
    )


def _when(kind: str, name: str, column: str, when: When, description: str, **more) -> Rule:
    return Rule(name=name, kind=kind, column=column, when=when, description=description, **more)


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

_OPEN = When("status", ("open",))
_SHIPPED = When("status", ("shipped", "delivered"))
_CANCELLED = When("status", ("cancelled",))
_ORDER_LINE = Reference("orders", ("order_id", "line_number"))

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
        Column(
            "order_multiple",
            "int",
            "Units per case or pack: orders are placed in multiples of it (1 when not given).",
            nullable=True,
        ),
        Column(
            "min_order_qty",
            "int",
            "The supplier's minimum order quantity for the sku, in units (0 when not given).",
            nullable=True,
        ),
        UPDATED_AT,
    ),
    rules=(
        _positive("unit_cost"),
        _positive("list_price", strict=False),
        # A pack of 0 would make every order 0 and a negative one is a sign slip; an empty cell means no
        # pack (the warehouse takes 1), so nulls pass.
        _positive("order_multiple", max=MAX_LINE_QUANTITY),
        _positive("min_order_qty", strict=False, max=MAX_LINE_QUANTITY),
    ),
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
        # A status and the fields it implies must agree: a line is shipped when it has a ship time and a
        # quantity, delivered when it also has a delivery time, and a cancelled line shipped nothing.
        _when(
            "null_when",
            "quantity_shipped_null_while_open",
            "quantity_shipped",
            _OPEN,
            "quantity_shipped must be null while open",
        ),
        _when(
            "required_when",
            "quantity_shipped_required_when_shipped",
            "quantity_shipped",
            _SHIPPED,
            "quantity_shipped is required when shipped or delivered",
        ),
        _when(
            "between",
            "quantity_shipped_positive_when_shipped",
            "quantity_shipped",
            _SHIPPED,
            "quantity_shipped must be > 0 when shipped or delivered",
            min=0,
            strict_min=True,
        ),
        _when(
            "between",
            "quantity_shipped_zero_when_cancelled",
            "quantity_shipped",
            _CANCELLED,
            "quantity_shipped must be 0 (or null) when cancelled",
            max=0,
        ),
        _when(
            "null_when",
            "shipped_ts_null_unless_shipped",
            "shipped_ts",
            When("status", ("open", "cancelled")),
            "shipped_ts must be null while open or when cancelled",
        ),
        _when(
            "required_when",
            "shipped_ts_required_when_shipped",
            "shipped_ts",
            _SHIPPED,
            "shipped_ts is required when shipped or delivered",
        ),
        _when(
            "null_when",
            "delivered_ts_null_unless_delivered",
            "delivered_ts",
            When("status", ("open", "shipped", "cancelled")),
            "delivered_ts must be null unless delivered",
        ),
        _when(
            "required_when",
            "delivered_ts_required_when_delivered",
            "delivered_ts",
            When("status", ("delivered",)),
            "delivered_ts is required when delivered",
        ),
        _positive("shipping_cost", strict=False),
        _ge("promised_date", "order_ts", as_date=True),
        _ge("shipped_ts", "order_ts"),
        _ge("delivered_ts", "shipped_ts"),
        # Also when shipped_ts is missing (the pair above then passes).
        _ge("delivered_ts", "order_ts"),
        _not_future("order_ts"),
        # The current version is the latest updated_at: one far-future typo would hide every later version.
        _not_future("updated_at"),
    ),
    outliers=(
        Outlier(
            name="unit_price_outlier",
            column="unit_price",
            group=("sku",),
            factor=10,
            description="unit_price more than 10x the sku's median unit_price (a decimal or currency slip)",
        ),
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
    outliers=(
        Outlier(
            name="on_hand_qty_outlier",
            column="on_hand_qty",
            group=("sku", "warehouse_id"),
            factor=10,
            quantile=0.9,
            description="on_hand_qty more than 10x the usual high level of the sku in the warehouse "
            "(its 90th percentile): a count or unit slip",
        ),
    ),
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
        # A receipt has a day and a quantity. (An open or cancelled line may hold a partial receipt.)
        _when(
            "required_when",
            "received_date_required_when_received",
            "received_date",
            When("status", ("received",)),
            "received_date is required when received",
        ),
        _when(
            "required_when",
            "quantity_received_required_when_received",
            "quantity_received",
            When("status", ("received",)),
            "quantity_received is required when received",
        ),
        _not_future("order_date"),
        _not_future("updated_at"),
    ),
    outliers=(
        Outlier(
            name="unit_cost_outlier",
            column="unit_cost",
            group=("sku",),
            factor=10,
            description="unit_cost more than 10x the sku's median unit_cost on purchase orders",
        ),
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
        _when(
            "null_when",
            "disposition_null_until_received",
            "disposition",
            When("received_ts"),
            "disposition must be null until received (received_ts is null)",
        ),
        # Checked against the order line's current version as loaded so far (this run's orders included).
        # Every return of a line counts, each at its current version: two returns of 1 on a line that
        # shipped 1 are one too many (both are held back when they arrive together: which one is wrong
        # cannot be told).
        Rule(
            name="quantity_returned_le_shipped",
            kind="at_most_referenced",
            column="quantity_returned",
            other="quantity_shipped",
            references=_ORDER_LINE,
            summed=True,
            description="quantity_returned, with the line's other returns, must be <= the quantity shipped "
            "on the order line (none while it has not shipped)",
        ),
        # What was paid for the units returned: the line's unit_price (what the customer was charged per
        # unit, promotions included) times quantity_returned. Shipping is not part of it.
        Rule(
            name="refund_amount_le_paid",
            kind="at_most_referenced",
            column="refund_amount",
            other="unit_price",
            factor="quantity_returned",
            references=_ORDER_LINE,
            tolerance=REFUND_TOLERANCE,
            description=f"refund_amount must be <= the order line's unit_price x quantity_returned "
            f"(+ {REFUND_TOLERANCE:.2f} for rounding)",
        ),
        _not_future("requested_ts"),
        _not_future("updated_at"),
    ),
)


_STARTED = When("status", ("in_progress", "completed"))
_SCRAPPED = When("quantity_scrapped", positive=True)
_NOT_SCRAPPED = When("quantity_scrapped", positive=False)

WORK_CENTERS = Feed(
    name="work_centers",
    optional=True,
    description="Work center master data (manufacturers only): the lines or cells work orders run on.",
    columns=(
        Column("work_center_id", "str", "Work center identifier.", key=True),
        Column("work_center_name", "str", "Display name."),
        Column("warehouse_id", "str", "The site whose stock it consumes and fills; refers to warehouses."),
        Column("capacity_hours_per_day", "dec", "Hours of work the center can do in a day."),
        UPDATED_AT,
    ),
    rules=(_positive("capacity_hours_per_day"),),
)

BILL_OF_MATERIALS = Feed(
    name="bill_of_materials",
    optional=True,
    description="Bills of materials (manufacturers only): one row per manufactured sku and component.",
    columns=(
        Column("parent_sku", "str", "The manufactured sku; refers to products.", key=True),
        Column("component_sku", "str", "A component of it; refers to products.", key=True),
        Column("quantity_per", "dec", "Component units per parent unit."),
        Column("scrap_allowance", "dec", "Planned share of parent units lost in production.", nullable=True),
        UPDATED_AT,
    ),
    rules=(
        _positive("quantity_per"),
        Rule(
            name="scrap_allowance_range",
            kind="between",
            column="scrap_allowance",
            min=0,
            max=1,
            strict_max=True,
            description="scrap_allowance must be >= 0 and < 1",
        ),
        _ne("component_sku", "parent_sku"),
        # A sku that is, through its components, its own component cannot be exploded into what it consumes.
        Rule(
            name="bom_cycle",
            kind="acyclic",
            column="component_sku",
            other="parent_sku",
            description="a sku must not be, through its components, its own component",
        ),
    ),
)

WORK_ORDERS = Feed(
    name="work_orders",
    optional=True,
    expected_every_hours=26,
    description="Production orders (manufacturers only); a work order is re-sent with a newer updated_at as "
    "its status changes.",
    columns=(
        Column("work_order_id", "str", "Work order identifier.", key=True),
        Column("sku", "str", "The manufactured sku; refers to products."),
        Column("work_center_id", "str", "Work center it runs on; refers to work_centers."),
        Column("warehouse_id", "str", "Where the output is stocked; refers to warehouses."),
        Column("planned_start_date", "date", "Day production is planned to start."),
        Column("planned_finish_date", "date", "Day production is planned to finish."),
        Column("quantity_planned", "int", "Units planned."),
        Column("status", "str", "planned, released, in_progress, completed or cancelled."),
        Column("actual_start_ts", "ts", "When production started; set from in_progress on.", nullable=True),
        Column("actual_finish_ts", "ts", "When production finished; set when completed.", nullable=True),
        Column("quantity_produced", "int", "Good units produced.", nullable=True),
        Column("quantity_scrapped", "int", "Units lost in production.", nullable=True),
        Column("labor_hours", "dec", "Hours of the work center used.", nullable=True),
        Column("scrap_reason", "str", "Why units were scrapped; set when quantity_scrapped > 0.", nullable=True),
        Column(
            "defect_component_sku",
            "str",
            "With scrap_reason component_defect: the component that failed; refers to products.",
            nullable=True,
        ),
        Column("updated_at", "ts", "When this version of the work order was written."),
    ),
    rules=(
        _ge("planned_finish_date", "planned_start_date"),
        _positive("quantity_planned", max=MAX_LINE_QUANTITY),
        _in_set("status", WORK_ORDER_STATUSES),
        _ge("actual_finish_ts", "actual_start_ts"),
        _positive("quantity_produced", strict=False, max=MAX_LINE_QUANTITY),
        _positive("quantity_scrapped", strict=False, max=MAX_LINE_QUANTITY),
        _positive("labor_hours", strict=False),
        _in_set("scrap_reason", SCRAP_REASONS),
        # A status and the times it implies must agree: started from in_progress on, finished when completed.
        _when(
            "null_when",
            "actual_start_ts_null_until_started",
            "actual_start_ts",
            When("status", ("planned", "released")),
            "actual_start_ts must be null while planned or released",
        ),
        _when(
            "required_when",
            "actual_start_ts_required_when_started",
            "actual_start_ts",
            _STARTED,
            "actual_start_ts is required when in_progress or completed",
        ),
        _when(
            "null_when",
            "actual_finish_ts_null_until_completed",
            "actual_finish_ts",
            When("status", ("planned", "released", "in_progress")),
            "actual_finish_ts must be null while planned, released or in_progress",
        ),
        _when(
            "required_when",
            "actual_finish_ts_required_when_completed",
            "actual_finish_ts",
            When("status", ("completed",)),
            "actual_finish_ts is required when completed",
        ),
        # Scrap and its reason come together: a reason without scrapped units, or units without a reason,
        # would put scrap in the wrong place of the yield-by-reason breakdown.
        _when(
            "null_when",
            "scrap_reason_null_without_scrap",
            "scrap_reason",
            _NOT_SCRAPPED,
            "scrap_reason must be null when quantity_scrapped is null or 0",
        ),
        _when(
            "required_when",
            "scrap_reason_required_with_scrap",
            "scrap_reason",
            _SCRAPPED,
            "scrap_reason is required when quantity_scrapped > 0",
        ),
        _when(
            "null_when",
            "defect_component_sku_only_with_component_defect",
            "defect_component_sku",
            When("scrap_reason", tuple(r for r in SCRAP_REASONS if r != "component_defect")),
            "defect_component_sku must be null unless scrap_reason is component_defect",
        ),
        _when(
            "null_when",
            "defect_component_sku_null_without_scrap_reason",
            "defect_component_sku",
            When("scrap_reason"),
            "defect_component_sku must be null while scrap_reason is null",
        ),
        _not_future("actual_start_ts"),
        _not_future("actual_finish_ts"),
        _not_future("updated_at"),
    ),
)

FEEDS: dict[str, Feed] = {
    f.name: f
    for f in (
        PRODUCTS,
        WAREHOUSES,
        SUPPLIERS,
        ORDERS,
        INVENTORY,
        PURCHASE_ORDERS,
        RETURNS,
        WORK_CENTERS,
        BILL_OF_MATERIALS,
        WORK_ORDERS,
    )
}
