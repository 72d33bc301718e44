{% test exactly_one_row(model) %}

select count(*) as n_rows
from {{ model }}
having count(*) <> 1

{% endtest %}
