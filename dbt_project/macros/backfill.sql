{#
    A backfill rebuilds the incremental facts' rows of a date range from all their raw versions, beside
    what a normal run reprocesses: after a fix to a model, history is redone without a full refresh.
    `scm backfill --from D --to D` sets the vars; without them this is `false` and changes nothing.
#}
{% macro in_backfill_window(date_expression) -%}
    {%- set start = var('backfill_from', none) -%}
    {%- set end = var('backfill_to', none) -%}
    {%- if start and end -%}
        (cast({{ date_expression }} as date) between cast('{{ start }}' as date) and cast('{{ end }}' as date))
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}
