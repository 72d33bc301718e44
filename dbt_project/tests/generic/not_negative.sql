{#
    A sum of units or absolute errors, or a ratio of such sums (WAPE, which unlike a rate can exceed 1),
    is never below 0. Nulls pass.
#}
{% test not_negative(model, column_name) %}

select *
from {{ model }}
where {{ column_name }} < 0

{% endtest %}
