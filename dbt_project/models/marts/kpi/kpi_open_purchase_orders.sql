{#
    The purchase-order lines still open on the as-of date, one row each: status 'open' and ordered on or
    before the as-of date (as replenishment counts open quantity), open_qty = quantity_ordered -
    coalesce(quantity_received, 0), days_late = as-of date - promised_date (negative: due in that many
    days), is_late when the promised date is before the as-of date. The one home of "a late PO line" for
    the Suppliers page and the alert digest.
#}
with

po_lines as not materialized (

    select * from {{ ref('fct_purchase_order_lines') }}

),

suppliers as not materialized (

    select * from {{ ref('dim_supplier') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

final as (

    select
        po_lines.po_line_key,
        po_lines.po_id,
        po_lines.line_number,
        po_lines.supplier_key,
        po_lines.supplier_id,
        suppliers.supplier_name,
        po_lines.product_key,
        po_lines.sku,
        products.product_name,
        products.category,
        po_lines.warehouse_id,
        po_lines.order_date,
        po_lines.promised_date,
        as_of.as_of_date,
        po_lines.quantity_ordered - coalesce(po_lines.quantity_received, 0) as open_qty,
        po_lines.ordered_value,
        {{ whole_days('po_lines.promised_date', 'as_of.as_of_date') }} as days_late,
        po_lines.promised_date < as_of.as_of_date as is_late
    from po_lines
    cross join as_of
    left join suppliers
        on po_lines.supplier_key = suppliers.supplier_key
    left join products
        on po_lines.product_key = products.product_key
    where po_lines.status = 'open'
        and po_lines.order_date <= as_of.as_of_date

)

select * from final
