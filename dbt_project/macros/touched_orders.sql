{#
    The CTEs that end in `touched_order_versions`, for the incremental models built on the order lines
    at a coarser grain (an order, a customer, a month): every version of every order that got a version
    loaded after the model's watermark (the latest `_last_loaded_at` it holds) or is dated inside a
    backfill window (macro in_backfill_window), the same new versions fct_order_lines recomputes its
    lines from. Every version of those orders, not only the new ones: a correction can move a line to
    another customer or month, and what the line counted in before must be recomputed as well as what
    it counts in now.

    order_versions: the relation or CTE holding every order line version (stg_orders__versions).
#}
{% macro touched_order_versions(order_versions) -%}
last_build as (

    select coalesce(max(_last_loaded_at), cast('1900-01-01' as timestamp)) as loaded_at
    from {{ this }}

),

touched_orders as (

    select distinct order_id
    from {{ order_versions }}
    where _loaded_at > (select loaded_at from last_build)
        or {{ in_backfill_window('order_date') }}

),

touched_order_versions as (

    select {{ order_versions }}.*
    from {{ order_versions }}
    inner join touched_orders
        on {{ order_versions }}.order_id = touched_orders.order_id

)
{%- endmacro %}
