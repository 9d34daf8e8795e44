{#-
  The edges of the party graph: each trader's links to the declarants who lodged for it, the foreign
  sellers on its invoices and its (keyed) address and phone, with how many items, over which days.
  Read by the community detection (orchestration/networks) and the network marts. Keys only.
-#}
with

items as (
    select
        declaration_id,
        lodged_date,
        trader_key,
        declarant_key,
        seller_key,
        address_key,
        phone_key,
        customs_value_omr
    from {{ ref('int_declaration_items') }}
),

links as (
    {%- for linked in ['declarant', 'seller', 'address', 'phone'] %}
    select trader_key, '{{ linked }}' as linked_type, {{ linked }}_key as linked_key, declaration_id, lodged_date,
        customs_value_omr
    from items
    where {{ linked }}_key is not null
    {{- "\n    union all" if not loop.last }}
    {%- endfor %}
)

select
    trader_key,
    linked_type,
    linked_key,
    count(*) as items,
    count(distinct declaration_id) as declarations,
    sum(customs_value_omr) as customs_value_omr,
    min(lodged_date) as first_seen,
    max(lodged_date) as last_seen
from links
group by trader_key, linked_type, linked_key
