{#-
  Every trader, declarant and seller with its place in the party graph (networks.party_communities:
  degree, connected component, Louvain community) and its activity: items, value, inspections, their
  irregular outcomes and seizures, first and last seen. The community's figures count the items of its
  traders; community_irregular_share is the share of those items with an irregular outcome, and
  community_hit_rate the share of its inspected items. Keys only. Method: docs/party-networks.md.
-#}
with

communities as (
    select * from {{ source('networks', 'party_communities') }}
),

items as (
    select
        declaration_id,
        lodged_date,
        trader_key,
        declarant_key,
        seller_key,
        customs_value_omr,
        case when inspection_outcome is not null then 1 else 0 end as is_inspected,
        case when {{ is_irregular_outcome('inspection_outcome') }} then 1 else 0 end as is_irregular,
        case when inspection_outcome = 'seizure' then 1 else 0 end as is_seizure
    from {{ ref('int_declaration_items') }}
),

item_parties as (
    {%- for party in ['trader', 'declarant', 'seller'] %}
    select '{{ party }}' as party_type, {{ party }}_key as party_key, items.*
    from items
    where {{ party }}_key is not null
    {{- "\n    union all" if not loop.last }}
    {%- endfor %}
),

parties as (
    select
        party_type,
        party_key,
        count(*) as items,
        count(distinct declaration_id) as declarations,
        cast(sum(customs_value_omr) as decimal(18, 3)) as customs_value_omr,
        cast(sum(is_inspected) as bigint) as inspected_items,
        cast(sum(is_irregular) as bigint) as irregular_items,
        cast(sum(is_seizure) as bigint) as seizures,
        min(lodged_date) as first_seen,
        max(lodged_date) as last_seen
    from item_parties
    group by party_type, party_key
),

community_items as (
    select
        communities.community_id,
        count(*) as items,
        sum(items.is_inspected) as inspected_items,
        sum(items.is_irregular) as irregular_items
    from items
    inner join communities on communities.party_type = 'trader' and communities.party_key = items.trader_key
    group by communities.community_id
)

select
    parties.party_type,
    parties.party_key,
    communities.community_id,
    communities.community_size,
    communities.component_id,
    communities.component_size,
    communities.degree,
    parties.items,
    parties.declarations,
    parties.customs_value_omr,
    parties.inspected_items,
    parties.irregular_items,
    parties.seizures,
    parties.first_seen,
    parties.last_seen,
    community_items.items as community_items,
    cast(community_items.irregular_items as double) / nullif(community_items.items, 0) as community_irregular_share,
    cast(community_items.irregular_items as double) / nullif(community_items.inspected_items, 0) as community_hit_rate
from parties
left join communities on communities.party_type = parties.party_type and communities.party_key = parties.party_key
left join community_items on community_items.community_id = communities.community_id
