{#
    A quantity a buyer can place: a whole number, not below 0, at least the minimum order quantity
    when above 0, and a whole number of packs (order multiples). Nulls pass.
#}
{% test orderable_quantity(model, column_name, min_order_qty, order_multiple) %}

select *
from {{ model }}
where {{ column_name }} < 0
    or {{ column_name }} <> floor({{ column_name }})
    or ({{ column_name }} > 0 and {{ column_name }} < {{ min_order_qty }})
    or {{ column_name }} % {{ order_multiple }} <> 0

{% endtest %}
