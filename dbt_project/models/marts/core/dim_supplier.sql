with

suppliers as not materialized (

    select * from {{ ref('stg_suppliers') }}

),

known_suppliers as (

    select
        {{ surrogate_key(['supplier_id']) }} as supplier_key,
        supplier_id,
        supplier_name,
        country,
        payment_terms_days,
        contracted_lead_time_days,
        false as is_unknown
    from suppliers

),

unknown_supplier as (

    select
        {{ unknown_key() }} as supplier_key,
        'unknown' as supplier_id,
        'Unknown supplier' as supplier_name,
        'unknown' as country,
        cast(null as bigint) as payment_terms_days,
        cast(null as bigint) as contracted_lead_time_days,
        true as is_unknown

),

final as (

    select * from known_suppliers
    union all
    select * from unknown_supplier

)

select * from final
