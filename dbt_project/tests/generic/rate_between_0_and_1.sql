{#
    A rate is a fraction in [0, 1] (kpi-definitions.md: "Rates are fractions in [0, 1], not percents").
    Nulls pass (a rate with no denominator is null, or its row is absent). Restrict to the rows that
    hold a rate with the test's `where` config, e.g. kpi_monthly's rate kpis.
#}
{% test rate_between_0_and_1(model, column_name) %}

select {{ column_name }} as rate
from {{ model }}
where {{ column_name }} < 0 or {{ column_name }} > 1

{% endtest %}
