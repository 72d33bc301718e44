with

source as not materialized (

    select * from {{ source('raw', 'suppliers') }}

),

ranked as (

    select
        *,
        {{ version_rank(['supplier_id']) }} as version_rank
    from source

),

final as (

    select
        supplier_id,
        supplier_name,
        country,
        payment_terms_days,
        contracted_lead_time_days,
        updated_at,
        _source_file,
        _loaded_at
    from ranked
    where version_rank = 1

)

select * from final
