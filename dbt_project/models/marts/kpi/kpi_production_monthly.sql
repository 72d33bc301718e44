{#
    The Make KPIs' numerators and denominators by month, work center and manufactured sku (the
    definitions of int_kpi_make_monthly at a finer grain), plus the scrap by reason. Two sets of
    columns, each by the month the definitions take it from: the schedule columns (due_*) over due
    work orders by planned_finish_date, the others over completed work orders by actual_finish_ts. The
    counts and sums add up over work centers and skus; capacity is a work center's and lives in
    kpi_work_center_weekly, since it does not split by sku.
#}
with

work_orders as not materialized (

    select * from {{ ref('fct_work_orders') }}

),

work_centers as not materialized (

    select * from {{ ref('dim_work_center') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}

),

due as (

    select
        {{ month_of('planned_finish_date') }} as month,
        work_center_key,
        product_key,
        count(*) as due_work_orders,
        count(case when is_on_schedule then 1 end) as due_on_schedule_work_orders,
        cast(sum(coalesce(quantity_produced, 0)) as bigint) as due_units_produced,
        cast(sum(quantity_planned) as bigint) as due_units_planned
    from work_orders
    where is_due
    group by 1, 2, 3

),

completed as (

    select
        {{ month_of('actual_finish_ts') }} as month,
        work_center_key,
        product_key,
        count(*) as completed_work_orders,
        cast(sum(coalesce(quantity_produced, 0)) as bigint) as units_produced,
        cast(sum(coalesce(quantity_scrapped, 0)) as bigint) as units_scrapped,
        cast(sum(coalesce(quantity_produced, 0) + coalesce(quantity_scrapped, 0)) as bigint) as units_started,
        sum(cycle_time_days) as cycle_time_days_sum,
        count(cycle_time_days) as cycle_time_work_orders,
        sum(coalesce(labor_hours, 0)) as labor_hours,
        {%- for reason in ['component_defect', 'machine', 'operator', 'setup', 'other'] %}
        cast(sum(case when scrap_reason = '{{ reason }}' then coalesce(quantity_scrapped, 0) else 0 end) as bigint)
            as units_scrapped_{{ reason }},
        {%- endfor %}
        cast(sum(case when scrap_reason is null then coalesce(quantity_scrapped, 0) else 0 end) as bigint)
            as units_scrapped_no_reason
    from work_orders
    where is_completed
    group by 1, 2, 3

),

joined as (

    select
        coalesce(due.month, completed.month) as month,
        coalesce(due.work_center_key, completed.work_center_key) as work_center_key,
        coalesce(due.product_key, completed.product_key) as product_key,
        coalesce(due.due_work_orders, 0) as due_work_orders,
        coalesce(due.due_on_schedule_work_orders, 0) as due_on_schedule_work_orders,
        coalesce(due.due_units_produced, 0) as due_units_produced,
        coalesce(due.due_units_planned, 0) as due_units_planned,
        coalesce(completed.completed_work_orders, 0) as completed_work_orders,
        coalesce(completed.units_produced, 0) as units_produced,
        coalesce(completed.units_scrapped, 0) as units_scrapped,
        coalesce(completed.units_started, 0) as units_started,
        completed.cycle_time_days_sum,
        coalesce(completed.cycle_time_work_orders, 0) as cycle_time_work_orders,
        coalesce(completed.labor_hours, 0) as labor_hours,
        {%- for reason in ['component_defect', 'machine', 'operator', 'setup', 'other', 'no_reason'] %}
        coalesce(completed.units_scrapped_{{ reason }}, 0) as units_scrapped_{{ reason }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from due
    full outer join completed
        on due.month = completed.month
        and due.work_center_key = completed.work_center_key
        and due.product_key = completed.product_key

),

final as (

    select
        joined.month,
        joined.work_center_key,
        work_centers.work_center_id,
        work_centers.work_center_name,
        joined.product_key,
        products.sku,
        products.product_name,
        products.category,
        joined.due_work_orders,
        joined.due_on_schedule_work_orders,
        case
            when joined.due_work_orders > 0
                then cast(joined.due_on_schedule_work_orders as double precision) / joined.due_work_orders
        end as schedule_adherence_rate,
        joined.due_units_produced,
        joined.due_units_planned,
        case
            when joined.due_units_planned > 0
                then cast(joined.due_units_produced as double precision) / joined.due_units_planned
        end as production_attainment_rate,
        joined.completed_work_orders,
        joined.units_produced,
        joined.units_scrapped,
        joined.units_started,
        case
            when joined.units_started > 0
                then cast(joined.units_produced as double precision) / joined.units_started
        end as first_pass_yield,
        joined.cycle_time_days_sum,
        joined.cycle_time_work_orders,
        case
            when joined.cycle_time_work_orders > 0
                then joined.cycle_time_days_sum / joined.cycle_time_work_orders
        end as manufacturing_cycle_time_days,
        joined.labor_hours,
        joined.units_scrapped_component_defect,
        joined.units_scrapped_machine,
        joined.units_scrapped_operator,
        joined.units_scrapped_setup,
        joined.units_scrapped_other,
        joined.units_scrapped_no_reason,
        case
            when joined.units_scrapped > 0
                then cast(joined.units_scrapped_component_defect as double precision) / joined.units_scrapped
        end as component_defect_scrap_share
    from joined
    inner join work_centers
        on joined.work_center_key = work_centers.work_center_key
    inner join products
        on joined.product_key = products.product_key

)

select * from final
