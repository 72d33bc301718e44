{#
    The select of a CTE that adds product_key and warehouse_key to every row of `relation` from its sku
    and warehouse_id, as the facts resolve them: a sku or warehouse the masters do not (yet) hold gets
    the unknown member's key (macro unknown_key). For the models that key rows of the forecasting step's
    tables, whose series need not be in the masters.

    relation:   the CTE whose rows are keyed (its columns include sku and warehouse_id).
    products:   the CTE of dim_product, warehouses: of dim_warehouse (their unknown members included:
                they are left out of the match).
#}
{% macro with_member_keys(relation, products='products', warehouses='warehouses') -%}
    select
        {{ relation }}.*,
        coalesce(known_products.product_key, {{ unknown_key() }}) as product_key,
        coalesce(known_warehouses.warehouse_key, {{ unknown_key() }}) as warehouse_key
    from {{ relation }}
    left join {{ products }} as known_products
        on {{ relation }}.sku = known_products.sku
        and not known_products.is_unknown
    left join {{ warehouses }} as known_warehouses
        on {{ relation }}.warehouse_id = known_warehouses.warehouse_id
        and not known_warehouses.is_unknown
{%- endmacro %}
