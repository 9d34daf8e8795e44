{#-
  Concordance groups between each older HS edition and the national one: the connected components of
  the correspondence (old code <-> new code, int_hs6_concordance_edges). Where an old code splits into several new codes, both
  sides are compared at the group, instead of inventing a split of the partner's figure. Components are
  found by label propagation (the smallest national code spreads through the group); `converged` says
  whether the last pass still changed a label, and a data test requires it never does.
-#}
{% set passes = 8 %}

with

edges as (
    select * from {{ ref('int_hs6_concordance_edges') }}
),

after_0 as (
    select hs_vintage, hs6_after as hs6, min(hs6_after) as label
    from edges
    group by hs_vintage, hs6_after
),

{% for i in range(1, passes + 1) %}
before_{{ i }} as (
    select edges.hs_vintage, edges.hs6_before as hs6, min(previous_after.label) as label
    from edges
    inner join after_{{ i - 1 }} as previous_after
        on previous_after.hs_vintage = edges.hs_vintage and previous_after.hs6 = edges.hs6_after
    group by edges.hs_vintage, edges.hs6_before
),

after_{{ i }} as (
    select edges.hs_vintage, edges.hs6_after as hs6, min(this_before.label) as label
    from edges
    inner join before_{{ i }} as this_before
        on this_before.hs_vintage = edges.hs_vintage and this_before.hs6 = edges.hs6_before
    group by edges.hs_vintage, edges.hs6_after
),
{% endfor %}

national_codes as (
    select
        last_pass.hs_vintage,
        'national' as side,
        last_pass.hs6,
        last_pass.label as group_hs6,
        last_pass.label = previous_pass.label as converged
    from after_{{ passes }} as last_pass
    inner join after_{{ passes - 1 }} as previous_pass
        on previous_pass.hs_vintage = last_pass.hs_vintage and previous_pass.hs6 = last_pass.hs6
),

partner_codes as (
    select
        last_pass.hs_vintage,
        'partner' as side,
        last_pass.hs6,
        last_pass.label as group_hs6,
        last_pass.label = previous_pass.label as converged
    from before_{{ passes }} as last_pass
    inner join before_{{ passes - 1 }} as previous_pass
        on previous_pass.hs_vintage = last_pass.hs_vintage and previous_pass.hs6 = last_pass.hs6
),

members as (
    select
        hs_vintage,
        group_hs6,
        count(*) as group_size,
        {{ sorted_string_agg("hs6", "'|'") }} as group_members
    from national_codes
    group by hs_vintage, group_hs6
),

codes as (
    select * from national_codes
    union all
    select * from partner_codes
)

select
    codes.hs_vintage,
    codes.side,
    codes.hs6,
    codes.group_hs6,
    members.group_size,
    members.group_members,
    codes.converged
from codes
inner join members on members.hs_vintage = codes.hs_vintage and members.group_hs6 = codes.group_hs6
