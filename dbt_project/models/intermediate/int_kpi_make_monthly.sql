{#
    Make KPIs in the long shape of kpi_monthly (kpi-definitions.md, "Make"), from fct_work_orders'
    flags. No work orders (a trading business): no rows, so kpi_monthly's other KPIs are as before.
    - By the month of planned_finish_date, over due work orders (not cancelled, planned finish on or
      before the as-of date): schedule_adherence_rate (completed on or before the planned finish day)
      and production_attainment_rate (units produced, / units planned).
    - By the month of actual_finish_ts, over completed work orders: first_pass_yield (produced, /
      produced + scrapped), manufacturing_cycle_time_days (the mean over those with a start:
      numerator = the sum, denominator = the count), component_defect_scrap_share (units scrapped with
      reason component_defect, / units scrapped) and capacity_utilisation_rate (labor hours, / the
      summed capacity_hours_per_day of every work center in the master x the calendar days of the month).
#}
with

work_orders as not materialized (

    select * from {{ ref('fct_work_orders') }}

),

work_centers as not materialized (

    select * from {{ ref('dim_work_center') }}
    where not is_unknown

),

due_months as (

    select
        {{ month_of('planned_finish_date') }} as month,
        count(*) as due_work_orders,
        count(case when is_on_schedule then 1 end) as on_schedule_work_orders,
        cast(sum(coalesce(quantity_produced, 0)) as bigint) as units_produced,
        cast(sum(quantity_planned) as bigint) as units_planned
    from work_orders
    where is_due
    group by 1

),

completed_months as (

    select
        {{ month_of('actual_finish_ts') }} as month,
        cast(sum(coalesce(quantity_produced, 0)) as bigint) as units_produced,
        cast(sum(coalesce(quantity_produced, 0) + coalesce(quantity_scrapped, 0)) as bigint) as units_started,
        sum(cycle_time_days) as cycle_time_days,
        count(cycle_time_days) as cycle_time_work_orders,
        sum(coalesce(labor_hours, 0)) as labor_hours,
        cast(sum(coalesce(quantity_scrapped, 0)) as bigint) as units_scrapped,
        cast(sum(case when scrap_reason = 'component_defect' then coalesce(quantity_scrapped, 0) else 0 end) as bigint)
            as units_scrapped_component_defect
    from work_orders
    where is_completed
    group by 1

),

capacity as (

    select sum(capacity_hours_per_day) as capacity_hours_per_day
    from work_centers

),

capacity_months as (

    select
        completed_months.month,
        completed_months.labor_hours,
        capacity.capacity_hours_per_day
            * {{ whole_days('completed_months.month', dbt.dateadd('month', 1, 'completed_months.month')) }}
            as capacity_hours
    from completed_months
    cross join capacity

),

final as (

    {{ kpi_ratio('schedule_adherence_rate', 'due_months', 'on_schedule_work_orders', 'due_work_orders') }}
    union all
    {{ kpi_ratio('production_attainment_rate', 'due_months', 'units_produced', 'units_planned') }}
    union all
    {{ kpi_ratio('first_pass_yield', 'completed_months', 'units_produced', 'units_started') }}
    union all
    {{ kpi_ratio('manufacturing_cycle_time_days', 'completed_months', 'cycle_time_days', 'cycle_time_work_orders') }}
    union all
    {{ kpi_ratio('capacity_utilisation_rate', 'capacity_months', 'labor_hours', 'capacity_hours') }}
    union all
    {{ kpi_ratio('component_defect_scrap_share', 'completed_months', 'units_scrapped_component_defect', 'units_scrapped') }}

)

select * from final
