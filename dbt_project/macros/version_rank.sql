{#
    The feed contract's "current version of a key": the latest version column (updated_at), on a
    tie the later delivery (`_file_seq`, the load order of files: a corrected file re-sent under the
    same name, or a `-fixed` copy, wins over what it corrects whatever the names), then the later row
    of that file. A null updated_at (masters may leave it out) ranks below any non-null one.
    Rank 1 is the current version. Every model that picks current versions uses this macro;
    version_order is its ordering alone, newest version first.
#}
{% macro version_rank(key_columns, version_column='updated_at') -%}
    row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by {{ version_order(version_column) }}
    )
{%- endmacro %}

{% macro version_order(version_column='updated_at') -%}
    {% if version_column is not none -%}
    {{ version_column }} desc nulls last,
    {% endif -%}
    _file_seq desc,
    _row_number desc
{%- endmacro %}
