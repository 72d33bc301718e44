"""What the pages call things: KPI names, column headers, and the plain words for the codes the data carries
(return reasons and dispositions, forecast models, exception types, channels).

The codes themselves are the feed contract's and the forecast configuration's; tests/dashboards/test_labels.py
fails when one of them has no label here.
"""

from __future__ import annotations

import re

KPI_NAMES = {
    "otif_rate": "OTIF",
    "unit_fill_rate": "Fill rate",
    "perfect_order_rate": "Perfect order rate",
    "inventory_value": "Inventory value",
    "inventory_turns": "Inventory turns",
    "stockout_rate": "Stockout rate",
    "supplier_on_time_rate": "Supplier on-time",
    "return_rate_units": "Return rate",
    "forecast_wape": "Forecast WAPE",
    "line_otif_rate": "Line OTIF",
    "line_on_time_rate": "On time",
    "line_in_full_rate": "In full",
    "backorder_rate": "Backorder rate",
    "order_to_delivery_days": "Order to delivery",
    "return_value_rate": "Return value rate",
    "supplier_in_full_rate": "Supplier in full",
    "supplier_lead_time_days": "Supplier lead time",
    "supplier_defect_ppm": "Inbound defects",
    "return_processing_days": "Return processing",
    "forecast_bias": "Forecast bias",
    "forecast_value_added": "Forecast value added",
    "revenue": "Revenue",
    "gross_margin": "Gross margin",
    "gross_margin_rate": "Gross margin rate",
    "cash_to_cash_days": "Cash-to-cash",
    "days_inventory_outstanding": "Days inventory (DIO)",
    "dpo_days": "Days payable (DPO)",
    "dso_days": "Days sales (DSO)",
    "active_customers": "Active customers",
    "new_customers": "New customers",
    "repeat_customers": "Repeat customers",
    "repeat_customer_rate": "Repeat customer rate",
    "average_order_value": "Average order value",
    "schedule_adherence_rate": "Schedule adherence",
    "production_attainment_rate": "Production attainment",
    "first_pass_yield": "First-pass yield",
    "manufacturing_cycle_time_days": "Cycle time",
    "capacity_utilisation_rate": "Capacity utilisation",
    "component_defect_scrap_share": "Component-defect scrap",
}

RETURN_REASONS = {
    "damaged": "Damaged",
    "defective": "Defective",
    "wrong_item": "Wrong item",
    "not_as_described": "Not as described",
    "no_longer_needed": "No longer needed",
    "late_delivery": "Late delivery",
    "other": "Other",
}

DISPOSITIONS = {
    "restock": "Restocked",
    "refurbish": "Refurbished",
    "scrap": "Scrapped",
    "return_to_vendor": "Returned to vendor",
    # The marts' word for a return not received back yet (the feed's disposition is null until then).
    "pending": "Pending (not received yet)",
}

MODELS = {
    "seasonal_naive": "Seasonal naive",
    "moving_average": "Moving average",
    "tsb": "TSB (intermittent)",
    "croston_sba": "Croston SBA (intermittent)",
    "adida": "ADIDA (intermittent)",
    "imapa": "IMAPA (intermittent)",
    "auto_ets": "AutoETS",
    "auto_theta": "AutoTheta",
    "ensemble": "Ensemble",
    "lightgbm": "LightGBM (global)",
    "prophet": "Prophet",
    # Rows of the accuracy marts that stand for each series' own pick rather than one model.
    "selected": "Selected per series",
}

EXCEPTIONS = {
    "stockout_within_lead_time": "Stockout within lead time",
    "excess_stock": "Excess stock",
    "forecast_error_jump": "Forecast error jump",
}

CHANNELS = {"web": "Web", "marketplace": "Marketplace", "wholesale": "Wholesale"}

# dim_customer's RFM segments (the rule is in its model description).
RFM_SEGMENTS = {
    "champions": "Champions",
    "loyal": "Loyal",
    "new": "New",
    "promising": "Promising",
    "at_risk": "At risk",
    "lost": "Lost",
    "no_orders": "No orders yet",
}

# Work orders' scrap reasons (the work_orders feed), and the marts' word for scrap sent without one.
SCRAP_REASONS = {
    "component_defect": "Component defect",
    "machine": "Machine",
    "operator": "Operator",
    "setup": "Setup",
    "other": "Other",
    "no_reason": "No reason given",
}

# Work orders' statuses (the work_orders feed).
WORK_ORDER_STATUSES = {
    "planned": "Planned",
    "released": "Released",
    "in_progress": "In progress",
    "completed": "Completed",
    "cancelled": "Cancelled",
}

CODES: dict[str, dict[str, str]] = {
    "reason": RETURN_REASONS,
    "disposition": DISPOSITIONS,
    "model": MODELS,
    "exception": EXCEPTIONS,
    "channel": CHANNELS,
    "segment": RFM_SEGMENTS,
    "scrap": SCRAP_REASONS,
    "work_order_status": WORK_ORDER_STATUSES,
}

# Every code of every kind: for a column that mixes kinds (the breakdown marts' `member`). The kinds share no code
# (tests/dashboards/test_labels.py).
ANY_CODE = {c: label for kind in CODES.values() for c, label in kind.items()}

# Headers the word-by-word rule below would get wrong or leave vague.
HEADERS = {
    **KPI_NAMES,
    "sku": "SKU",
    "product_name": "Product",
    "supplier_id": "Supplier ID",
    "supplier_name": "Supplier",
    "warehouse_id": "Warehouse ID",
    "warehouse_name": "Warehouse",
    "reason_code": "Reason",
    "exception_type": "Exception",
    "member": "Member",
    "dimension": "Breakdown",
    "due_lines": "Due lines",
    "avg_daily_forecast": "Daily forecast",
    "forecast_review_period_demand": "Review-period demand",
    "recommended_order_qty": "Order quantity",
    "recommended_order_value": "Order value",
    "projected_stockout_date": "Projected stockout",
    "contracted_lead_time_days": "Contracted lead time",
    "supplier_lead_time_stddev_days": "Lead time std. dev.",
    "customer_defect_rate": "Customer defect rate",
    "units_ordered_28d": "Units ordered (28 days)",
    "stockout_days_28d": "Stockout days (28 days)",
    "days_late": "Days late",
    "on_hand_qty": "On hand",
    "open_qty": "Open quantity",
    "wape": "WAPE",
    "fva": "Forecast value added",
    "po_id": "PO",
    "po_line_id": "PO line",
    # The drill-downs' rows (dashboards/queries_drill.py).
    "is_on_time": "On time",
    "is_in_full": "In full",
    "is_quality_return": "Quality return",
    "has_quality_return": "Quality return",
    "last_delivered_ts": "Last delivered",
    "line_count": "Lines",
    "quantity_ordered": "Units ordered",
    "quantity_shipped": "Units shipped",
    "quantity_received": "Units received",
    "quantity_rejected": "Units rejected",
    "quantity_returned": "Units returned",
    "stockout_days": "Days out of stock",
    "first_stockout_date": "First day out of stock",
    "last_stockout_date": "Last day out of stock",
    "snapshot_date": "Stock as of",
    "rfm_segment": "Segment",
    "orders_per_customer": "Orders per customer",
    "recency_days": "Days since last order",
    # The Production page's work orders and shortages (dashboards/queries_production.py).
    "work_order_id": "Work order",
    "work_center_id": "Work center ID",
    "work_center_name": "Work center",
    "component_sku": "Component",
    "scrap_reason": "Scrap reason",
    "quantity_planned": "Units planned",
    "quantity_produced": "Units produced",
    "quantity_scrapped": "Units scrapped",
    "required_qty": "Units needed",
    "available_qty": "Units available",
    "shortage_qty": "Units short",
    "is_on_schedule": "On schedule",
    "actual_start_ts": "Started",
    "actual_finish_ts": "Finished",
    "labor_hours": "Labor hours",
    "capacity_hours": "Capacity hours",
    "scrap_share": "Share of scrap",
}

# Words of a column name as a header shows them.
_WORDS = {"qty": "quantity", "sku": "SKU", "po": "PO", "id": "ID", "otif": "OTIF", "wape": "WAPE", "ppm": "ppm"}
# A unit at the end of a name is left out of the header: the values carry it ("3.5 days").
_UNIT_SUFFIXES = ("days", "ppm")


def kpi(name: str) -> str:
    return KPI_NAMES.get(name, header(name))


def code(kind: str, value) -> str | None:
    """The label of a code of `kind` (see CODES); an unknown code reads as itself, None stays None."""
    if value is None:
        return None
    return CODES[kind].get(value, str(value))


def any_code(value) -> str | None:
    """The label of a code of whatever kind; anything else (a category, a supplier's name) reads as itself."""
    return None if value is None else ANY_CODE.get(value, str(value))


def model(name) -> str | None:
    return code("model", name)


def header(column: str) -> str:
    """A column's header: HEADERS, else its words ("lead_time_days" -> "Lead time", "28d" -> "(28 days)")."""
    if column in HEADERS:
        return HEADERS[column]
    if column in MODELS:  # a pivot by model has the models as columns
        return MODELS[column]
    words = column.split("_")
    if len(words) > 1 and words[-1] in _UNIT_SUFFIXES:
        words = words[:-1]
    shown = []
    for word in words:
        if match := re.fullmatch(r"(\d+)d", word):
            shown.append(f"({match[1]} days)")
        else:
            shown.append(_WORDS.get(word, word))
    text = " ".join(shown)
    return text[:1].upper() + text[1:]
