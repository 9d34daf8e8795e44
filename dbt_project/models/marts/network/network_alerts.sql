{#-
  Patterns an investigator asks about, one row per alert, over the party graph (int_party_links) and
  its communities (networks.party_communities). Keys only; vars `network`. Method and limits:
  docs/party-networks.md.
  - linked_to_seizure: a trader with a seizure and the traders that share at least
    `min_shared_links` counterparties (declarant, seller, address, phone) with it. A counterparty of
    more than `max_link_traders` traders is a hub (a large broker, a global seller) and links nobody.
  - phoenix: a trader that stopped within `phoenix.max_days_after_seizure` days of a seizure and has
    been silent `phoenix.min_silence_days` since, and a trader that started after the seizure, within
    `phoenix.max_gap_days` of the last item, sharing its counterparties as above.
  - community_shift: a community whose HS chapter or route mix in its last `shift.recent_days` active
    days differs from the `shift.baseline_days` before by a total variation distance of at least
    `shift.min_distance`.
  - split_consignments: a foreign seller that starts feeding at least `split.min_traders` small traders
    (at most `split.max_trader_items` items in all, each item from it at most
    `split.max_item_value_omr`) within `split.window_days`, at least `split.min_share` of its traders.
  Ties: a counterparty shared by k traders ties two of them by min(the share of each one's items
  through it) / (k - 1): an exclusive seller of all their goods ties them by 1, a broker of 20 clients by
  at most 0.05. Two traders are linked when they share at least `min_shared_links` counterparties that
  tie them by at least `min_pair_strength` in all. Evidence adds the ties of the alert's pairs;
  alert_score = 100 x the pattern's weight (`alert_weights`) x (1 - exp(-evidence)); rank 1 is first.
-#}
{% set n = var('network') %}
{% set weights = n['alert_weights'] %}

with

links as (
    select * from {{ ref('int_party_links') }}
),

communities as (
    select * from {{ source('networks', 'party_communities') }}
),

items as (
    select
        lodged_date,
        trader_key,
        seller_key,
        hs2,
        {{ dbt.concat(["coalesce(origin_iso3, '?')", "'>'", "coalesce(partner_iso3, '?')"]) }} as route,
        customs_value_omr,
        inspection_outcome
    from {{ ref('int_declaration_items') }}
),

data_end as (
    select max(lodged_date) as last_day from items
),

traders as (
    select
        trader_key,
        count(*) as items,
        sum(customs_value_omr) as customs_value_omr,
        min(lodged_date) as first_seen,
        max(lodged_date) as last_seen,
        sum(case when inspection_outcome = 'seizure' then 1 else 0 end) as seizures,
        max(case when inspection_outcome = 'seizure' then lodged_date end) as last_seizure
    from items
    group by trader_key
),

counterparties as (
    select linked_type, linked_key, count(*) as traders
    from links
    group by linked_type, linked_key
),

-- each trader's share of its items through each counterparty
link_shares as (
    select links.*, cast(links.items as double) / traders.items as item_share
    from links
    inner join traders on traders.trader_key = links.trader_key
),

shared as (
    select
        left_side.trader_key as trader_a,
        right_side.trader_key as trader_b,
        left_side.linked_type,
        left_side.linked_key,
        counterparties.traders,
        least(left_side.item_share, right_side.item_share) / (counterparties.traders - 1) as tie
    from link_shares as left_side
    inner join counterparties
        on counterparties.linked_type = left_side.linked_type and counterparties.linked_key = left_side.linked_key
    inner join link_shares as right_side
        on right_side.linked_type = left_side.linked_type
        and right_side.linked_key = left_side.linked_key
        and right_side.trader_key <> left_side.trader_key
    where counterparties.traders <= {{ n['max_link_traders'] }}
),

pairs as (
    select
        trader_a,
        trader_b,
        count(*) as shared_links,
        sum(tie) as strength,
        {{ ordered_listagg(dbt.concat(["linked_type", "' '", "linked_key"]), "', '", ["linked_type", "linked_key"]) }} as shared_with
    from shared
    group by trader_a, trader_b
    having count(*) >= {{ n['min_shared_links'] }} and sum(tie) >= {{ n['min_pair_strength'] }}
),

-- linked_to_seizure ---------------------------------------------------------------------------------
linked as (
    select pairs.trader_a as anchor_key, pairs.trader_b, pairs.strength
    from pairs
    inner join traders on traders.trader_key = pairs.trader_a
    where traders.seizures > 0
),

linked_counterparties as (
    select distinct linked.anchor_key, shared.linked_type, shared.linked_key, shared.traders
    from linked
    inner join shared on shared.trader_a = linked.anchor_key and shared.trader_b = linked.trader_b
),

linked_parties as (
    select anchor_key, anchor_key as party_key from linked
    union
    select anchor_key, trader_b as party_key from linked
    union
    select anchor_key, linked_key as party_key from linked_counterparties
),

linked_alerts as (
    select
        'linked_to_seizure' as alert_type,
        linked.anchor_key,
        count(*) as linked_traders,
        sum(linked.strength) as evidence_strength,
        sum(members.items) as member_items,
        sum(members.customs_value_omr) as member_value_omr,
        min(members.first_seen) as first_seen,
        max(members.last_seen) as last_seen
    from linked
    inner join traders as members on members.trader_key = linked.trader_b
    group by linked.anchor_key
),

linked_rows as (
    select
        linked_alerts.alert_type,
        linked_alerts.anchor_key,
        {{ dbt.concat(["'linked_to_seizure:'", "linked_alerts.anchor_key"]) }} as alert_id,
        {{ dbt.concat([
            "linked_alerts.anchor_key", "' ('", "cast(anchor.seizures as " ~ dbt.type_string() ~ ")",
            "' seizure(s), the last on '", "cast(anchor.last_seizure as " ~ dbt.type_string() ~ ")",
            "') shares ' ", "cast(" ~ n['min_shared_links'] ~ " as " ~ dbt.type_string() ~ ")",
            "' or more counterparties with '", "cast(linked_alerts.linked_traders as " ~ dbt.type_string() ~ ")",
            "' trader(s), through '", "via.counterparties"]) }} as evidence,
        linked_alerts.member_items + anchor.items as items,
        linked_alerts.member_value_omr + anchor.customs_value_omr as total_value_omr,
        least(linked_alerts.first_seen, anchor.first_seen) as first_seen,
        greatest(linked_alerts.last_seen, anchor.last_seen) as last_seen,
        linked_alerts.evidence_strength,
        {{ weights['linked_to_seizure'] }} as weight
    from linked_alerts
    inner join traders as anchor on anchor.trader_key = linked_alerts.anchor_key
    inner join (
        select
            anchor_key,
            {{ ordered_listagg(
                "linked_type || ' ' || linked_key || ' (' || cast(traders as " ~ dbt.type_string() ~ ") || ' traders)'",
                "', '",
                ["linked_type", "linked_key"],
            ) }} as counterparties
        from linked_counterparties
        group by anchor_key
    ) as via on via.anchor_key = linked_alerts.anchor_key
),

-- phoenix ---------------------------------------------------------------------------------------------
stopped as (
    select traders.*
    from traders
    cross join data_end
    where traders.seizures > 0
        and traders.last_seen <= {{ add_days('data_end.last_day', -n['phoenix']['min_silence_days']) }}
        and traders.last_seen <= {{ add_days('traders.last_seizure', n['phoenix']['max_days_after_seizure']) }}
),

phoenix_rows as (
    select
        'phoenix' as alert_type,
        stopped.trader_key as anchor_key,
        {{ dbt.concat(["'phoenix:'", "stopped.trader_key", "'>'", "successor.trader_key"]) }} as alert_id,
        {{ dbt.concat([
            "stopped.trader_key", "' stopped after a seizure on '", "cast(stopped.last_seizure as " ~ dbt.type_string() ~ ")",
            "' (last item '", "cast(stopped.last_seen as " ~ dbt.type_string() ~ ")", "'); '",
            "successor.trader_key", "' first seen '", "cast(successor.first_seen as " ~ dbt.type_string() ~ ")",
            "', '", "cast(" ~ dbt.datediff('stopped.last_seen', 'successor.first_seen', 'day') ~ " as " ~ dbt.type_string() ~ ")",
            "' days after, with the same '", "pairs.shared_with"]) }} as evidence,
        stopped.items + successor.items as items,
        stopped.customs_value_omr + successor.customs_value_omr as total_value_omr,
        stopped.first_seen,
        successor.last_seen,
        -- the timing is evidence of its own
        1 + pairs.strength as evidence_strength,
        {{ weights['phoenix'] }} as weight,
        successor.trader_key as successor_key,
        pairs.trader_b
    from stopped
    inner join pairs on pairs.trader_a = stopped.trader_key
    inner join traders as successor on successor.trader_key = pairs.trader_b
    where successor.first_seen > stopped.last_seizure
        and successor.first_seen <= {{ add_days('stopped.last_seen', n['phoenix']['max_gap_days']) }}
),

phoenix_parties as (
    select alert_id, anchor_key as party_key from phoenix_rows
    union
    select alert_id, successor_key as party_key from phoenix_rows
    union
    select phoenix_rows.alert_id, shared.linked_key as party_key
    from phoenix_rows
    inner join shared on shared.trader_a = phoenix_rows.anchor_key and shared.trader_b = phoenix_rows.successor_key
),

-- community_shift -------------------------------------------------------------------------------------
community_items as (
    select communities.community_id, items.*
    from items
    inner join communities on communities.party_type = 'trader' and communities.party_key = items.trader_key
),

community_end as (
    select community_id, max(lodged_date) as last_day from community_items group by community_id
),

windowed as (
    select
        community_items.*,
        case
            when community_items.lodged_date > {{ add_days('community_end.last_day', -n['shift']['recent_days']) }}
                then 'recent'
            when community_items.lodged_date > {{ add_days('community_end.last_day', -(n['shift']['recent_days'] + n['shift']['baseline_days'])) }}
                then 'baseline'
        end as time_window
    from community_items
    inner join community_end on community_end.community_id = community_items.community_id
),

window_sizes as (
    select
        community_id,
        sum(case when time_window = 'recent' then 1 else 0 end) as recent_items,
        sum(case when time_window = 'baseline' then 1 else 0 end) as baseline_items
    from windowed
    group by community_id
    having sum(case when time_window = 'recent' then 1 else 0 end) >= {{ n['shift']['min_items'] }}
        and sum(case when time_window = 'baseline' then 1 else 0 end) >= {{ n['shift']['min_items'] }}
),

mix as (
    select community_id, 'HS chapter' as dimension, hs2 as category, time_window from windowed
    union all
    select community_id, 'route' as dimension, route as category, time_window from windowed
),

shares as (
    select
        mix.community_id,
        mix.dimension,
        mix.category,
        cast(sum(case when mix.time_window = 'recent' then 1 else 0 end) as double) / window_sizes.recent_items as recent_share,
        cast(sum(case when mix.time_window = 'baseline' then 1 else 0 end) as double) / window_sizes.baseline_items as baseline_share
    from mix
    inner join window_sizes on window_sizes.community_id = mix.community_id
    where mix.time_window is not null
    group by mix.community_id, mix.dimension, mix.category, window_sizes.recent_items, window_sizes.baseline_items
),

distances as (
    select community_id, dimension, 0.5 * sum(abs(recent_share - baseline_share)) as distance
    from shares
    group by community_id, dimension
),

largest_rise as (
    select
        community_id,
        dimension,
        category,
        recent_share,
        baseline_share,
        row_number() over (partition by community_id, dimension order by recent_share - baseline_share desc, category) as nth
    from shares
),

shifted as (
    select
        distances.community_id,
        max(distances.distance) as distance,
        {{ ordered_listagg(dbt.concat([
            "distances.dimension", "' mix moved '", "cast(round(distances.distance, 2) as " ~ dbt.type_string() ~ ")",
            "' (most: '", "largest_rise.category", "' from '", "cast(round(100 * largest_rise.baseline_share) as integer)",
            "'% to '", "cast(round(100 * largest_rise.recent_share) as integer)", "'% of items)'"]),
            "'; '", ["distances.dimension"]) }} as changes
    from distances
    inner join largest_rise
        on largest_rise.community_id = distances.community_id
        and largest_rise.dimension = distances.dimension
        and largest_rise.nth = 1
    group by distances.community_id
    having max(distances.distance) >= {{ n['shift']['min_distance'] }}
),

shift_rows as (
    select
        'community_shift' as alert_type,
        shifted.community_id as anchor_key,
        {{ dbt.concat(["'community_shift:'", "shifted.community_id"]) }} as alert_id,
        {{ dbt.concat([
            "'community '", "shifted.community_id", "': in the '", "cast(" ~ n['shift']['recent_days'] ~ " as " ~ dbt.type_string() ~ ")",
            "' days to '", "cast(community_end.last_day as " ~ dbt.type_string() ~ ")", "' against the '",
            "cast(" ~ n['shift']['baseline_days'] ~ " as " ~ dbt.type_string() ~ ")", "' days before, '",
            "shifted.changes"]) }} as evidence,
        window_sizes.recent_items as items,
        recent.value_omr as total_value_omr,
        recent.first_seen,
        community_end.last_day as last_seen,
        shifted.distance * window_sizes.recent_items / {{ n['shift']['min_items'] }} as evidence_strength,
        {{ weights['community_shift'] }} as weight
    from shifted
    inner join window_sizes on window_sizes.community_id = shifted.community_id
    inner join community_end on community_end.community_id = shifted.community_id
    inner join (
        select community_id, sum(customs_value_omr) as value_omr, min(lodged_date) as first_seen
        from windowed where time_window = 'recent' group by community_id
    ) as recent on recent.community_id = shifted.community_id
),

shift_parties as (
    select distinct shift_rows.alert_id, windowed.trader_key as party_key
    from shift_rows
    inner join windowed on windowed.community_id = shift_rows.anchor_key and windowed.time_window = 'recent'
),

-- split_consignments ------------------------------------------------------------------------------
seller_traders as (
    select
        seller_key,
        trader_key,
        count(*) as items,
        max(customs_value_omr) as largest_item_omr,
        sum(customs_value_omr) as customs_value_omr,
        min(lodged_date) as first_seen,
        max(lodged_date) as last_seen
    from items
    where seller_key is not null
    group by seller_key, trader_key
),

small_traders as (
    select seller_traders.*
    from seller_traders
    inner join traders on traders.trader_key = seller_traders.trader_key
    where traders.items <= {{ n['split']['max_trader_items'] }}
        and seller_traders.largest_item_omr <= {{ n['split']['max_item_value_omr'] }}
),

-- the busiest window: the most small traders whose first item from the seller falls in window_days
windows as (
    select
        starts.seller_key,
        starts.first_seen as window_start,
        count(*) as small_traders,
        row_number() over (partition by starts.seller_key order by count(*) desc, starts.first_seen) as nth
    from small_traders as starts
    inner join small_traders as members
        on members.seller_key = starts.seller_key
        and members.first_seen >= starts.first_seen
        and members.first_seen <= {{ add_days('starts.first_seen', n['split']['window_days']) }}
    group by starts.seller_key, starts.first_seen
),

split_members as (
    select small_traders.*
    from small_traders
    inner join windows on windows.seller_key = small_traders.seller_key and windows.nth = 1
    where small_traders.first_seen >= windows.window_start
        and small_traders.first_seen <= {{ add_days('windows.window_start', n['split']['window_days']) }}
),

split_sellers as (
    select
        split_members.seller_key,
        count(*) as small_traders,
        max(all_traders.traders) as traders,
        sum(split_members.items) as items,
        sum(split_members.customs_value_omr) as customs_value_omr,
        max(split_members.largest_item_omr) as largest_item_omr,
        min(split_members.first_seen) as first_seen,
        max(split_members.last_seen) as last_seen
    from split_members
    inner join (select seller_key, count(*) as traders from seller_traders group by seller_key) as all_traders
        on all_traders.seller_key = split_members.seller_key
    group by split_members.seller_key
    having count(*) >= {{ n['split']['min_traders'] }}
        and count(*) >= {{ n['split']['min_share'] }} * max(all_traders.traders)
),

split_rows as (
    select
        'split_consignments' as alert_type,
        seller_key as anchor_key,
        {{ dbt.concat(["'split_consignments:'", "seller_key"]) }} as alert_id,
        {{ dbt.concat([
            "'seller '", "seller_key", "' fed '", "cast(small_traders as " ~ dbt.type_string() ~ ")",
            "' small traders (of its '", "cast(traders as " ~ dbt.type_string() ~ ")", "'), '",
            "cast(items as " ~ dbt.type_string() ~ ")", "' items of at most '", "cast(largest_item_omr as " ~ dbt.type_string() ~ ")",
            "' OMR each, the traders first seen within '", "cast(" ~ n['split']['window_days'] ~ " as " ~ dbt.type_string() ~ ")",
            "' days, from '", "cast(first_seen as " ~ dbt.type_string() ~ ")", "' to '", "cast(last_seen as " ~ dbt.type_string() ~ ")"]) }} as evidence,
        items,
        customs_value_omr as total_value_omr,
        first_seen,
        last_seen,
        cast(small_traders as double) / {{ n['split']['min_traders'] }} as evidence_strength,
        {{ weights['split_consignments'] }} as weight
    from split_sellers
),

split_parties as (
    select split_rows.alert_id, split_rows.anchor_key as party_key from split_rows
    union
    select split_rows.alert_id, split_members.trader_key as party_key
    from split_rows
    inner join split_members on split_members.seller_key = split_rows.anchor_key
),

-- together ----------------------------------------------------------------------------------------
alerts as (
    select alert_type, anchor_key, alert_id, evidence, items, total_value_omr, first_seen, last_seen, evidence_strength, weight
    from linked_rows
    union all
    select alert_type, anchor_key, alert_id, evidence, items, total_value_omr, first_seen, last_seen, evidence_strength, weight
    from phoenix_rows
    union all
    select alert_type, anchor_key, alert_id, evidence, items, total_value_omr, first_seen, last_seen, evidence_strength, weight
    from shift_rows
    union all
    select alert_type, anchor_key, alert_id, evidence, items, total_value_omr, first_seen, last_seen, evidence_strength, weight
    from split_rows
),

alert_parties as (
    select {{ dbt.concat(["'linked_to_seizure:'", "anchor_key"]) }} as alert_id, party_key from linked_parties
    union all
    select alert_id, party_key from phoenix_parties
    union all
    select alert_id, party_key from shift_parties
    union all
    select alert_id, party_key from split_parties
),

party_lists as (
    select
        alert_id,
        count(*) as parties,
        {{ ordered_listagg("party_key", "';'", ["party_key"]) }} as party_keys
    from alert_parties
    group by alert_id
),

scored as (
    select
        alerts.*,
        party_lists.parties,
        party_lists.party_keys,
        coalesce(anchor_community.community_id, case when alerts.alert_type = 'community_shift' then alerts.anchor_key end)
            as community_id,
        round(100 * alerts.weight * (1 - exp(-alerts.evidence_strength)), 2) as alert_score
    from alerts
    inner join party_lists on party_lists.alert_id = alerts.alert_id
    left join communities as anchor_community
        on anchor_community.party_key = alerts.anchor_key and alerts.alert_type <> 'community_shift'
)

select
    alert_id,
    alert_type,
    community_id,
    anchor_key,
    parties,
    party_keys,
    evidence,
    cast(items as bigint) as items,
    cast(total_value_omr as decimal(18, 3)) as total_value_omr,
    first_seen,
    last_seen,
    cast(evidence_strength as double) as evidence_strength,
    cast(alert_score as double) as alert_score,
    cast(row_number() over (order by alert_score desc, total_value_omr desc, alert_id) as bigint) as rank
from scored
