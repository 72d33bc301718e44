{#
    dbt's own should_full_refresh (the --full-refresh flag, or a model's full_refresh config), and also
    true for a model the run names in the var rebuild_in_full: an incremental model whose built table no
    longer has the columns the model declares, and the incremental models built on it
    (pipelines/assets/column_drift.py). dbt's incremental materialization and is_incremental() both ask
    this macro, so such a model is built from scratch and swapped in like a --full-refresh build of it,
    while the rest of the same build stays incremental.
#}
{% macro should_full_refresh() %}
    {%- if model is defined and model.name in var('rebuild_in_full') -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(dbt.should_full_refresh()) }}
{% endmacro %}
