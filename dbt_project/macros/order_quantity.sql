{#
    The quantity a buyer can place for a need (kpi-definitions.md, Plan: recommended_order_qty): 0 when
    the need is 0, else the need rounded up to whole units, then up to min_order_qty, then up to a
    multiple of order_multiple; null when the need is null. The need is first rounded to 6 decimals so
    that float noise in a need of exactly n units (n + 1e-12) does not cost a whole extra unit, or pack.
    The arguments are SQL expressions, each rendered more than once: pass columns, not subqueries.
#}
{% macro order_quantity(need, min_order_qty, order_multiple) -%}
    case
        when {{ need }} is null then cast(null as bigint)
        when round({{ need }}, 6) <= 0 then cast(0 as bigint)
        else cast(
            ceil(
                greatest(ceil(round({{ need }}, 6)), {{ min_order_qty }}) / cast({{ order_multiple }} as double precision)
            ) * {{ order_multiple }} as bigint
        )
    end
{%- endmacro %}
