{#
    The one place the as-of date is decided (kpi-definitions.md): the dbt var `as_of_date` when a run
    gives one, else the latest order_ts date in the orders feed (current versions of every line,
    cancelled ones included). Everything as-of dependent joins this one-row model, fct_order_lines
    (is_due) too, so it reads the order versions, not the fact.

    Ranking every version on every run is what the incremental facts avoid, so only the lines that can
    decide the date are ranked: the newest version of the whole feed is the current version of its own
    line, so the date is at least its order_date, and a line none of whose versions is dated that late
    cannot hold the latest current order date.
#}
{%- set as_of_var = var('as_of_date', none) -%}
{%- set as_of_given = as_of_var not in (none, '', 'null', 'None') -%}

with

order_versions as not materialized (

    select * from {{ ref('stg_orders__versions') }}

),

lower_bound as (

    select order_date
    from order_versions
    order by {{ version_order() }}
    limit 1

),

candidate_lines as (

    select distinct order_id, line_number
    from order_versions
    where order_date >= (select order_date from lower_bound)

),

candidate_versions as (

    select
        order_versions.order_date,
        {{ version_rank(['order_versions.order_id', 'order_versions.line_number']) }} as version_rank
    from order_versions
    inner join candidate_lines
        on order_versions.order_id = candidate_lines.order_id
        and order_versions.line_number = candidate_lines.line_number

),

latest_order_date as (

    select max(order_date) as max_order_date
    from candidate_versions
    where version_rank = 1

),

final as (

    select
        {% if as_of_given -%}
        cast('{{ as_of_var }}' as date) as as_of_date
        {%- else -%}
        max_order_date as as_of_date
        {%- endif %}
    from latest_order_date

)

select * from final
