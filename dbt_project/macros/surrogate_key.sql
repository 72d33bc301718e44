{#
    md5 of the parts, null-safe and separated, so ('a', null) and (null, 'a') differ and
    ('ab', 'c') and ('a', 'bc') differ. The same recipe as dbt_utils.generate_surrogate_key.
#}
{% macro surrogate_key(field_list) -%}
    {%- set parts = [] -%}
    {%- for field in field_list -%}
        {%- do parts.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_null_')") -%}
        {%- if not loop.last -%}{%- do parts.append("'-'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}


{#
    Key of each dimension's "unknown" member: facts whose natural key the master does not (yet)
    hold point at it. md5 never yields it, so it cannot collide with a real member.
#}
{% macro unknown_key() -%}
    '-1'
{%- endmacro %}
