{#
    The one place the as-of date is decided (kpi-definitions.md): the dbt var `as_of_date` when a run
    gives one, else the latest order_ts date in the orders feed (current versions of every line,
    cancelled ones included, as fct_order_lines holds them). Everything as-of dependent joins this one-row model.
#}
{%- set as_of_var = var('as_of_date', none) -%}
{%- set as_of_given = as_of_var not in (none, '', 'null', 'None') -%}

with

orders as (

    select * from {{ ref('fct_order_lines') }}

),

latest_order_date as (

    select max(order_date) as max_order_date
    from orders

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
