{#
    A rate is a fraction in [0, 1] (kpi-definitions.md: "Rates are fractions in [0, 1], not percents").
    Nulls pass (a rate with no denominator is null, or its row is absent). Restrict to the rows that
    hold a rate with the test's `where` config, e.g. kpi_monthly's rate kpis.

    A rate is derived from many input rows, and one row that is valid on its own but wrong (a return of
    more units than its line turns out to have shipped, say) can push a month's rate past 1. That is for
    someone to look at, not an outage: the test warns instead of failing the build, so the run still
    publishes its snapshot, and keeps its failing rows (whole, so that they name the month, kpi or
    supplier) in the unpublished schema `dbt_test_failures` (dbt_project.yml); the asset check and
    `scm run` show them.
#}
{% test rate_between_0_and_1(model, column_name) %}

{{ config(severity='warn', store_failures=true) }}

select *
from {{ model }}
where {{ column_name }} < 0 or {{ column_name }} > 1

{% endtest %}
