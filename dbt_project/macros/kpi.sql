{#
    One row of the long KPI shape (month, kpi, value, numerator, denominator) from a CTE that holds
    `month` and the two sums. value = numerator / denominator * scale. kpi_monthly promises "a month
    with a zero denominator has no row": rows whose denominator is 0 or null are left out here.
#}
{% macro kpi_ratio(kpi_name, from_cte, numerator, denominator, scale=none) -%}
    select
        month,
        '{{ kpi_name }}' as kpi,
        cast({{ numerator }} as double precision) / cast({{ denominator }} as double precision){% if scale %} * {{ scale }}{% endif %} as value,
        cast({{ numerator }} as double precision) as numerator,
        cast({{ denominator }} as double precision) as denominator
    from {{ from_cte }}
    where {{ denominator }} <> 0
{%- endmacro %}


{# A KPI that is a level, not a ratio (a count, a sum, a var): numerator and denominator are null. #}
{% macro kpi_level(kpi_name, from_cte, value, numerator='null') -%}
    select
        month,
        '{{ kpi_name }}' as kpi,
        cast({{ value }} as double precision) as value,
        cast({{ numerator }} as double precision) as numerator,
        cast(null as double precision) as denominator
    from {{ from_cte }}
    where {{ value }} is not null
{%- endmacro %}
