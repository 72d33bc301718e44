{# First day of the month of a date or timestamp, as a date. #}
{% macro month_of(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}


{# The UTC date of a naive-UTC timestamp. #}
{% macro to_date(expression) -%}
    cast({{ expression }} as date)
{%- endmacro %}


{# Days between two timestamps, fractional: seconds / 86,400 (kpi-definitions.md). #}
{% macro fractional_days(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('fractional_days', 'scm')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__fractional_days(start_ts, end_ts) -%}
    ({{ dbt.datediff(start_ts, end_ts, 'second') }} / 86400.0)
{%- endmacro %}

{# epoch() keeps sub-second parts, which date_diff('second') would truncate. #}
{% macro duckdb__fractional_days(start_ts, end_ts) -%}
    ((epoch({{ end_ts }}) - epoch({{ start_ts }})) / 86400.0)
{%- endmacro %}


{# Whole days between two dates. #}
{% macro whole_days(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}


{#
    One row per day from start_date to end_date inclusive (both SQL expressions, e.g. scalar
    subqueries), column `date_day`. Counts up from 0 with cross-joined digits, so no compile-time
    query and no generate_series: portable, and good for 100,000 days (273 years).
#}
{% macro date_spine(start_date, end_date) -%}
    with digits as (
        {% for d in range(10) -%}
        select {{ d }} as digit {% if not loop.last %}union all{% endif %}
        {% endfor %}
    ),

    day_offsets as (
        select
            ones.digit
            + 10 * tens.digit
            + 100 * hundreds.digit
            + 1000 * thousands.digit
            + 10000 * ten_thousands.digit as day_offset
        from digits as ones
        cross join digits as tens
        cross join digits as hundreds
        cross join digits as thousands
        cross join digits as ten_thousands
    )

    select cast({{ dbt.dateadd('day', 'day_offset', start_date) }} as date) as date_day
    from day_offsets
    where day_offset <= {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}
