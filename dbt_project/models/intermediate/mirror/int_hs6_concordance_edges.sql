{#-
  The edges of the correspondence between each older HS edition and the national one (old code ->
  new code), with collectors cut: a national code fed by more than `mirror.concordance_max_sources`
  old codes (e-waste, "other" headings) keeps only the old codes that have no ordinary successor, so
  that a collector does not merge unrelated groups. A table of its own: int_hs6_concordance_groups
  reads it at every propagation pass, and Spark, which does not materialise a CTE read many times,
  would otherwise recompute it at each (20 s against 5 s on the demo's concordance).
-#}

with

correspondence as (
    select distinct vintage_before as hs_vintage, hs6_after, hs6_before
    from {{ ref('stg_hs_concordance') }}
    where vintage_after = '{{ var("national_hs_vintage") }}'
      and vintage_before is not null
      and vintage_before <> '{{ var("national_hs_vintage") }}'
),

fan_in as (
    select hs_vintage, hs6_after, count(*) as sources
    from correspondence
    group by hs_vintage, hs6_after
),

scored as (
    select
        correspondence.*,
        fan_in.sources,
        max(case when fan_in.sources <= {{ var('mirror')['concordance_max_sources'] }} then 1 else 0 end)
            over (partition by correspondence.hs_vintage, correspondence.hs6_before) as has_ordinary_successor
    from correspondence
    inner join fan_in on fan_in.hs_vintage = correspondence.hs_vintage and fan_in.hs6_after = correspondence.hs6_after
),

edges as (
    select hs_vintage, hs6_after, hs6_before
    from scored
    where sources <= {{ var('mirror')['concordance_max_sources'] }} or has_ordinary_successor = 0
)

select * from edges
