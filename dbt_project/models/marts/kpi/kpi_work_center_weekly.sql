{#
    Capacity by work center and week, for a heat map: the labor hours of the work orders completed in
    the week (by actual_finish_ts, as capacity_utilisation_rate takes them) against the work center's
    capacity_hours_per_day x 7. Every work center of the master has a row for every week from the first
    week with a completed work order to the as-of date's week (an idle week shows 0); the unknown work
    center only where it has hours (it has no capacity). Weeks start on Monday.
#}
with

work_orders as not materialized (

    select * from {{ ref('fct_work_orders') }}

),

work_centers as not materialized (

    select * from {{ ref('dim_work_center') }}

),

as_of as not materialized (

    select * from {{ ref('int_as_of_date') }}

),

completed as (

    select
        cast({{ dbt.date_trunc('week', 'actual_finish_ts') }} as date) as week_start,
        work_center_key,
        count(*) as completed_work_orders,
        sum(coalesce(labor_hours, 0)) as labor_hours
    from work_orders
    where is_completed
    group by 1, 2

),

spine as (

    {{ date_spine(
        '(select min(week_start) from completed)',
        '(select cast(' ~ dbt.date_trunc('week', 'as_of_date') ~ ' as date) from as_of)'
    ) }}

),

weeks as (

    select date_day as week_start
    from spine
    where date_day = cast({{ dbt.date_trunc('week', 'date_day') }} as date)

),

grid as (

    select
        weeks.week_start,
        work_centers.work_center_key
    from weeks
    cross join work_centers
    where not work_centers.is_unknown

    union

    select
        week_start,
        work_center_key
    from completed

),

final as (

    select
        grid.week_start,
        grid.work_center_key,
        work_centers.work_center_id,
        work_centers.work_center_name,
        work_centers.warehouse_id,
        coalesce(completed.completed_work_orders, 0) as completed_work_orders,
        coalesce(completed.labor_hours, 0) as labor_hours,
        work_centers.capacity_hours_per_day * 7 as capacity_hours,
        case
            when work_centers.capacity_hours_per_day > 0
                then coalesce(completed.labor_hours, 0) / (work_centers.capacity_hours_per_day * 7)
        end as capacity_utilisation_rate
    from grid
    inner join work_centers
        on grid.work_center_key = work_centers.work_center_key
    left join completed
        on grid.week_start = completed.week_start
        and grid.work_center_key = completed.work_center_key

)

select * from final
