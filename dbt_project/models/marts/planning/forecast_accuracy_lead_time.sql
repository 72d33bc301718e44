{#
    The error of the demand summed over the lead time, the sum replenishment's safety stock covers:
    per series and backtest cut-off, forecast_accuracy_daily summed over forecast days 1 .. L after the
    cut-off, L as replenishment takes it (int_product_lead_times: least(greatest(ceil(L̄), 1), 28) of
    the product's primary supplier today), var `lead_time_error_max_days` (28) where the product has no
    lead time. Scored days only, so a censored day drops out of both sums; forecast.lead_time_errors
    counts only the cut-offs whose L days were all scored (all_days_scored).
#}
{%- set max_days = var('lead_time_error_max_days') -%}

with

daily as not materialized (

    select * from {{ ref('forecast_accuracy_daily') }}

),

lead_times as not materialized (

    select * from {{ ref('int_product_lead_times') }}

),

with_lead_days as (

    select
        daily.*,
        lead_times.lead_time_days,
        coalesce(lead_times.lead_days, {{ max_days }}) as lead_days
    from daily
    left join lead_times
        on daily.product_key = lead_times.product_key

),

sums as (

    select
        run_id,
        cutoff_date,
        product_key,
        warehouse_key,
        sku,
        warehouse_id,
        category,
        warehouse_name,
        demand_class,
        selected_model,
        backtest_cutoff,
        lead_time_days,
        lead_days,
        count(case when is_scored then 1 end) as days_scored,
        coalesce(sum(case when is_scored then actual end), 0) as actual,
        coalesce(sum(case when is_scored then forecast end), 0) as forecast,
        coalesce(sum(case when is_scored then seasonal_naive_forecast end), 0) as seasonal_naive_forecast
    from with_lead_days
    where horizon_day <= lead_days
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13

),

final as (

    select
        *,
        days_scored = lead_days as all_days_scored,
        forecast - actual as error,
        abs(forecast - actual) as abs_error,
        abs(seasonal_naive_forecast - actual) as seasonal_naive_abs_error,
        case when actual > 0 then abs(forecast - actual) / actual end as relative_abs_error,
        case when forecast > 0 then (actual - forecast) / forecast end as relative_error
    from sums

)

select * from final
