{#
    Open purchase-order lines to expedite: one row per projected stockout within the lead time and open
    PO line for the same sku and warehouse that is promised after the stockout date, i.e. stock that is
    on its way but, as promised, arrives only after the shelf has run empty. Asking the supplier to ship
    it sooner can prevent the stockout; an order placed today cannot (it arrives after the lead time).

    - The stockouts: rows of replenishment with a projected_stockout_date and days_until_stockout <=
      ceil(lead_time_days) (the stockout_within_lead_time exception). A stale position has no projected
      stockout, so none of its POs are listed.
    - The PO lines: current lines with status 'open' ordered on or before the as-of date (the ones
      replenishment counts as open), promised_date > projected_stockout_date, with open_qty =
      quantity_ordered - coalesce(quantity_received, 0) > 0 (units still to come).
    - days_at_risk = promised_date - projected_stockout_date: the days the line would have to arrive
      earlier to be there when the stock runs out.
#}
with

replenishment as not materialized (

    select * from {{ ref('replenishment') }}

),

po_lines as not materialized (

    select * from {{ ref('fct_purchase_order_lines') }}

),

stockouts as (

    select
        sku,
        warehouse_id,
        product_name,
        category,
        warehouse_name,
        as_of_date,
        projected_stockout_date,
        days_until_stockout,
        lead_time_days
    from replenishment
    where days_until_stockout <= ceil(lead_time_days)

),

open_po_lines as (

    select
        po_lines.po_line_key,
        po_lines.po_id,
        po_lines.line_number,
        po_lines.supplier_id,
        po_lines.sku,
        po_lines.warehouse_id,
        po_lines.order_date,
        po_lines.promised_date,
        po_lines.quantity_ordered - coalesce(po_lines.quantity_received, 0) as open_qty
    from po_lines
    inner join stockouts
        on po_lines.sku = stockouts.sku
        and po_lines.warehouse_id = stockouts.warehouse_id
    where po_lines.status = 'open'
        and po_lines.order_date <= stockouts.as_of_date

),

final as (

    select
        stockouts.sku,
        stockouts.warehouse_id,
        stockouts.product_name,
        stockouts.category,
        stockouts.warehouse_name,
        stockouts.as_of_date,
        stockouts.projected_stockout_date,
        stockouts.days_until_stockout,
        stockouts.lead_time_days,
        open_po_lines.po_line_key,
        open_po_lines.po_id,
        open_po_lines.line_number,
        open_po_lines.supplier_id,
        open_po_lines.order_date,
        open_po_lines.promised_date,
        open_po_lines.open_qty,
        {{ whole_days('stockouts.projected_stockout_date', 'open_po_lines.promised_date') }} as days_at_risk
    from stockouts
    inner join open_po_lines
        on stockouts.sku = open_po_lines.sku
        and stockouts.warehouse_id = open_po_lines.warehouse_id
    where open_po_lines.promised_date > stockouts.projected_stockout_date
        and open_po_lines.open_qty > 0

)

select * from final
