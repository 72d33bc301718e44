{#
    Custom schemas are used as named (`staging`, `intermediate`, `marts`), not prefixed with the
    target schema: the warehouse has one set of them, and readers query `marts.kpi_monthly`.
    A model without a custom schema lands in the target schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
