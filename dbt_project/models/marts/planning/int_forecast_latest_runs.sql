{#
    The one place the planning marts decide which forecasting run a series (sku and warehouse) is
    taken from: the latest run that covered it. A run covers a series when it wrote the series' row
    of forecast.model_selection (a run partitioned by category covers only the series of its
    categories, so different series may come from different runs). Latest = the latest
    runs.created_at, on a tie the greater run_id. Earlier runs stay in the forecast schema untouched.
    Lives with the planning marts (it reads the forecast schema, so it builds after forecasting) but
    in the intermediate schema.
#}
{{ config(schema='intermediate') }}

with

runs as not materialized (

    select * from {{ source('forecast', 'runs') }}

),

model_selection as not materialized (

    select * from {{ source('forecast', 'model_selection') }}

),

ranked_runs as (

    select
        model_selection.sku,
        model_selection.warehouse_id,
        model_selection.run_id,
        model_selection.cutoff_date,
        runs.created_at as run_created_at,
        model_selection.model as selected_model,
        model_selection.wape as selected_model_wape,
        model_selection.seasonal_naive_wape,
        model_selection.demand_sd,
        model_selection.demand_class,
        model_selection.reason as selection_reason,
        row_number() over (
            partition by model_selection.sku, model_selection.warehouse_id
            order by runs.created_at desc nulls last, runs.run_id desc
        ) as recency_rank
    from model_selection
    inner join runs
        on model_selection.run_id = runs.run_id

),

final as (

    select
        sku,
        warehouse_id,
        run_id,
        cutoff_date,
        run_created_at,
        selected_model,
        selected_model_wape,
        seasonal_naive_wape,
        demand_sd,
        demand_class,
        selection_reason
    from ranked_runs
    where recency_rank = 1

)

select * from final
