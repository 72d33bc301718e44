{#
    Finance KPIs in the long shape of kpi_monthly (kpi-definitions.md, "Finance").
    dpo_days: received PO lines by the month of received_date; the mean payment_terms_days of their
      suppliers weighted by quantity_received x the PO line's own unit_cost (what is owed to the
      supplier: the one exception to "costs use the product's current unit_cost"); lines whose supplier
      is unknown are left out (numerator = sum of terms x weight, denominator = sum of weights).
    dso_days: the var `dso_days` (default 0), one row per month with orders; numerator and
      denominator null.
    cash_to_cash_days: days_inventory_outstanding + dso_days - dpo_days, for months with both DIO and
      DPO; numerator and denominator null.
    gross_margin_rate: current lines by the month of shipped_ts with a known product cost:
      sum((unit_price - unit_cost) x quantity_shipped) / sum(unit_price x quantity_shipped).
#}
with

po_lines as not materialized (

    select * from {{ ref('fct_purchase_order_lines') }}

),

order_lines as not materialized (

    select * from {{ ref('fct_order_lines') }}

),

suppliers as not materialized (

    select * from {{ ref('dim_supplier') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

inventory_kpis as not materialized (

    select * from {{ ref('int_kpi_inventory_monthly') }}

),

dpo_months as (

    select
        {{ month_of('po_lines.received_date') }} as month,
        sum(suppliers.payment_terms_days * po_lines.quantity_received * po_lines.unit_cost) as weighted_terms,
        sum(po_lines.quantity_received * po_lines.unit_cost) as weights
    from po_lines
    inner join suppliers
        on po_lines.supplier_key = suppliers.supplier_key
    where po_lines.is_received
        and suppliers.payment_terms_days is not null
        and po_lines.unit_cost is not null
        and po_lines.quantity_received is not null
    group by 1

),

dpo as (

    {{ kpi_ratio('dpo_days', 'dpo_months', 'weighted_terms', 'weights') }}

),

order_months as (

    select distinct
        {{ month_of('order_ts') }} as month,
        {{ var('dso_days', 0) }} as dso_days
    from order_lines

),

dso as (

    {{ kpi_level('dso_days', 'order_months', 'dso_days') }}

),

dio as (

    select month, value
    from inventory_kpis
    where kpi = 'days_inventory_outstanding'

),

cash_to_cash_months as (

    select
        dio.month,
        dio.value + dso.value - dpo.value as cash_to_cash_days
    from dio
    inner join dpo
        on dio.month = dpo.month
    inner join dso
        on dio.month = dso.month

),

margin_months as (

    select
        {{ month_of('order_lines.shipped_ts') }} as month,
        sum((order_lines.unit_price - products.unit_cost) * coalesce(order_lines.quantity_shipped, 0)) as gross_margin,
        sum(order_lines.unit_price * coalesce(order_lines.quantity_shipped, 0)) as shipped_revenue
    from order_lines
    inner join products
        on order_lines.product_key = products.product_key
    where order_lines.shipped_ts is not null
        and products.unit_cost is not null
    group by 1

),

final as (

    select * from dpo
    union all
    select * from dso
    union all
    {{ kpi_level('cash_to_cash_days', 'cash_to_cash_months', 'cash_to_cash_days') }}
    union all
    {{ kpi_ratio('gross_margin_rate', 'margin_months', 'gross_margin', 'shipped_revenue') }}

)

select * from final
