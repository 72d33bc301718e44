{#
    Every KPI of kpi-definitions.md (Deliver, Return, Source, Inventory, Finance, Customer, Make),
    network wide, one row per kpi and month. Each intermediate model computes one section in this shape.
    Make has rows only where the work_orders feed has: a trading business's table is as without it.
#}
with

deliver as not materialized (

    select * from {{ ref('int_kpi_deliver_monthly') }}

),

returns as not materialized (

    select * from {{ ref('int_kpi_return_monthly') }}

),

source as not materialized (

    select * from {{ ref('int_kpi_source_monthly') }}

),

inventory as not materialized (

    select * from {{ ref('int_kpi_inventory_monthly') }}

),

finance as not materialized (

    select * from {{ ref('int_kpi_finance_monthly') }}

),

customer as not materialized (

    select * from {{ ref('int_kpi_customer_monthly') }}

),

make as not materialized (

    select * from {{ ref('int_kpi_make_monthly') }}

),

unioned as (

    select * from deliver
    union all
    select * from returns
    union all
    select * from source
    union all
    select * from inventory
    union all
    select * from finance
    union all
    select * from customer
    union all
    select * from make

),

final as (

    select
        month,
        kpi,
        value,
        numerator,
        denominator
    from unioned
    where value is not null

)

select * from final
