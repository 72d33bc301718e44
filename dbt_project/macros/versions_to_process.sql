{#
    The CTEs that end in `versions_to_process`: the raw versions an incremental fact recomputes its rows
    from (its current version is then ranked over them). A full build takes every version. An incremental
    build takes every version of the keys that
      - got a version loaded after the table's latest `_last_loaded_at` (the watermark), or
      - are dated inside a backfill window (macro in_backfill_window), or
      - are still mapped to a dimension's unknown member whose master has since arrived ("late masters").
    The current version of a key depends on all its versions, so a key is always reprocessed whole.

    versions:     the relation or CTE holding every version (its columns include `_loaded_at`).
    key_columns:  the fact's natural key, the grain of its unique key.
    date_column:  the version's own date that `scm backfill --from --to` ranges over; a fact's business
                  date, so it differs between facts by intent.
    late_masters: one entry per dimension the fact looks up and maps to the unknown member when the
                  natural key is not (yet) in its master, and only those (a key computed from a natural
                  key alone, as order_key, never goes stale): {'key': the fact's dimension key column,
                  'natural_key': the natural key column, named alike in the fact and the dimension,
                  'members': the CTE of that dimension's known members}. Which dimensions, and so the
                  entries, differ between facts by intent: each fact lists exactly the lookups it makes.
    stale_keys:   CTEs (names) of keys whose stored row is out of date for another reason, e.g. a flag
                  that depends on the as-of date (fct_work_orders.is_due); reprocessed like the others.
#}
{% macro versions_to_process(versions, key_columns, date_column, late_masters=[], stale_keys=[]) -%}
{%- set keys = key_columns | join(', ') -%}
{%- if is_incremental() -%}
last_build as (

    select coalesce(max(_last_loaded_at), cast('1900-01-01' as timestamp)) as loaded_at
    from {{ this }}

),

keys_with_new_versions as (

    select {{ keys }}
    from {{ versions }}
    where _loaded_at > (select loaded_at from last_build)
        or {{ in_backfill_window(date_column) }}

),
{%- if late_masters %}

keys_with_late_masters as (

    select {{ keys }}
    from {{ this }}
    where
    {%- for master in late_masters %}
        {% if not loop.first %}or {% endif %}({{ master.key }} = {{ unknown_key() }} and {{ master.natural_key }} in (select {{ master.natural_key }} from {{ master.members }}))
    {%- endfor %}

),
{%- endif %}

keys_to_process as (

    select {{ keys }} from keys_with_new_versions
    {%- if late_masters %}
    union
    select {{ keys }} from keys_with_late_masters
    {%- endif %}
    {%- for stale in stale_keys %}
    union
    select {{ keys }} from {{ stale }}
    {%- endfor %}

),

versions_to_process as (

    select {{ versions }}.*
    from {{ versions }}
    inner join keys_to_process
    {%- for column in key_columns %}
        {% if loop.first %}on{% else %}and{% endif %} {{ versions }}.{{ column }} = keys_to_process.{{ column }}
    {%- endfor %}

)
{%- else -%}
versions_to_process as (

    select * from {{ versions }}

)
{%- endif -%}
{%- endmacro %}
