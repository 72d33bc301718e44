{#
    forecast_accuracy_daily summed per series, backtest cut-off and ISO week (weeks start on Monday):
    the accuracy of weekly buckets, the level weekly planning decides on. Sums are over the week's
    scored days only (forecast_accuracy_daily); the first and last week of a cut-off's window can be
    partial (days_in_week, days_scored say how many days they hold). abs_error sums the daily errors;
    abs_error_of_sum is the error of the week's total, which daily errors of opposite sign cancel in.
#}
with

daily as not materialized (

    select * from {{ ref('forecast_accuracy_daily') }}

),

final as (

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
        cast({{ dbt.date_trunc('week', 'forecast_date') }} as date) as week_start,
        strftime(min(forecast_date), '%G-W%V') as iso_week,
        count(*) as days_in_week,
        count(case when is_scored then 1 end) as days_scored,
        coalesce(sum(case when is_scored then actual end), 0) as actual,
        coalesce(sum(case when is_scored then forecast end), 0) as forecast,
        coalesce(sum(abs_error), 0) as abs_error,
        coalesce(sum(seasonal_naive_abs_error), 0) as seasonal_naive_abs_error,
        abs(coalesce(sum(error), 0)) as abs_error_of_sum
    from daily
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12

)

select * from final
