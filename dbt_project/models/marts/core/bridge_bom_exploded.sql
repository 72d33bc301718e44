{#
    The bill of materials exploded to leaf components (feed bill_of_materials; empty for a trading
    business): one row per sku that has a BOM (at any level: a sub-assembly has its own rows) and each
    leaf component it needs, a leaf being a component without a BOM of its own (bought, not made).

    - cumulative_quantity_per: leaf units per parent unit, the product of quantity_per along a path
      from the parent down to the leaf, summed over the paths (a component reached through two
      sub-assemblies, or directly and through one, counts on each).
    - planning_quantity_per: the same with each step grossed up by its scrap allowance,
      quantity_per / (1 - coalesce(scrap_allowance, 0)): the leaf units to plan per good parent unit,
      as MRP's dependent demand (kpi-definitions.md, Planning) takes them.
    A cycle (a sku that is its own component) is quarantined by the feed rules; a path that would
    revisit a sku stops anyway, so a cycle never makes the recursion endless.
#}
with recursive

bom as (

    select
        parent_sku,
        component_sku,
        cast(quantity_per as double precision) as quantity_per,
        cast(quantity_per as double precision)
            / (1 - cast(coalesce(scrap_allowance, 0) as double precision)) as planning_quantity_per
    from {{ ref('stg_bill_of_materials') }}

),

products as not materialized (

    select * from {{ ref('dim_product') }}
    where not is_unknown

),

paths as (

    select
        parent_sku,
        component_sku,
        quantity_per,
        planning_quantity_per,
        1 as depth,
        '/' || parent_sku || '/' || component_sku || '/' as visited
    from bom

    union all

    select
        paths.parent_sku,
        bom.component_sku,
        paths.quantity_per * bom.quantity_per,
        paths.planning_quantity_per * bom.planning_quantity_per,
        paths.depth + 1,
        paths.visited || bom.component_sku || '/'
    from paths
    inner join bom
        on paths.component_sku = bom.parent_sku
    where strpos(paths.visited, '/' || bom.component_sku || '/') = 0

),

leaf_paths as (

    select * from paths
    where component_sku not in (select parent_sku from bom)

),

exploded as (

    select
        parent_sku,
        component_sku,
        sum(quantity_per) as cumulative_quantity_per,
        sum(planning_quantity_per) as planning_quantity_per,
        count(*) as paths,
        max(depth) as max_depth
    from leaf_paths
    group by 1, 2

),

final as (

    select
        {{ surrogate_key(['exploded.parent_sku', 'exploded.component_sku']) }} as bom_exploded_key,
        coalesce(parents.product_key, {{ unknown_key() }}) as parent_product_key,
        coalesce(components.product_key, {{ unknown_key() }}) as component_product_key,
        exploded.parent_sku,
        exploded.component_sku,
        exploded.cumulative_quantity_per,
        exploded.planning_quantity_per,
        exploded.paths,
        exploded.max_depth
    from exploded
    left join products as parents
        on exploded.parent_sku = parents.sku
    left join products as components
        on exploded.component_sku = components.sku

)

select * from final
