{#
    One row per purchase-order line, its current version, with its receipt. Incremental like
    fct_order_lines (macro versions_to_process: new versions since the last build, lines ordered in a
    backfill window, plus lines whose supplier, product or warehouse master has arrived since they
    were mapped to unknown).
#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='po_line_key',
        on_schema_change='fail'
    )
}}

with

po_versions as not materialized (

    select * from {{ ref('stg_purchase_orders__versions') }}

),

suppliers as not materialized (

    select * from {{ ref('dim_supplier') }}
    where not is_unknown

),

products as not materialized (

    select * from {{ ref('dim_product') }}
    where not is_unknown

),

warehouses as not materialized (

    select * from {{ ref('dim_warehouse') }}
    where not is_unknown

),

{{
    versions_to_process(
        'po_versions',
        ['po_id', 'line_number'],
        'order_date',
        late_masters=[
            {'key': 'supplier_key', 'natural_key': 'supplier_id', 'members': 'suppliers'},
            {'key': 'product_key', 'natural_key': 'sku', 'members': 'products'},
            {'key': 'warehouse_key', 'natural_key': 'warehouse_id', 'members': 'warehouses'},
        ]
    )
}},

ranked as (

    select
        *,
        {{ version_rank(['po_id', 'line_number']) }} as version_rank,
        max(_loaded_at) over (partition by po_id, line_number) as _last_loaded_at
    from versions_to_process

),

current_lines as (

    select * from ranked
    where version_rank = 1

),

flagged as (

    select
        *,
        status = 'received' and received_date is not null as is_received
    from current_lines

),

final as (

    select
        {{ surrogate_key(['flagged.po_id', 'flagged.line_number']) }} as po_line_key,
        coalesce(suppliers.supplier_key, {{ unknown_key() }}) as supplier_key,
        coalesce(products.product_key, {{ unknown_key() }}) as product_key,
        coalesce(warehouses.warehouse_key, {{ unknown_key() }}) as warehouse_key,
        flagged.po_id,
        flagged.line_number,
        flagged.supplier_id,
        flagged.sku,
        flagged.warehouse_id,
        flagged.status,
        flagged.order_date,
        flagged.promised_date,
        flagged.received_date,
        flagged.quantity_ordered,
        flagged.quantity_received,
        flagged.quantity_rejected,
        flagged.unit_cost,
        flagged.quantity_ordered * flagged.unit_cost as ordered_value,
        flagged.is_received,
        flagged.is_received and flagged.received_date <= flagged.promised_date as is_on_time,
        flagged.is_received and coalesce(flagged.quantity_received, 0) >= flagged.quantity_ordered as is_in_full,
        case
            when flagged.is_received then {{ whole_days('flagged.order_date', 'flagged.received_date') }}
        end as lead_time_days,
        flagged.updated_at,
        flagged._source_file,
        flagged._loaded_at,
        flagged._last_loaded_at
    from flagged
    left join suppliers
        on flagged.supplier_id = suppliers.supplier_id
    left join products
        on flagged.sku = products.sku
    left join warehouses
        on flagged.warehouse_id = warehouses.warehouse_id

)

select * from final
