{#-
  Who and what an enforcement team should look at: every trader (pseudonymous key) and every route
  (origin > partner | HS chapter | transport mode), with its volume, the share of its items carrying a
  risk signal, the money at risk, the value missing from under-valued items, its inspections and their
  hit rate. The hit rate is shrunk towards the overall rate (`hit_rate_prior_weight` inspections' worth)
  so that one lucky inspection does not top the list. risk_score = the weighted percentiles (var
  `risk.target_weights`: duty and VAT at risk, value gap, flagged share, shrunk hit rate) among targets
  of the same type; rank 1 is the first to look at. The value gap ranks apart from the duty and VAT
  because an under-valued zero-duty, zero-VAT good puts no tax at risk yet is still a valuation fraud.
  Flagged means an item-level signal (a party's history is what the hit rate already ranks).
-#}
{% set weights = var('risk')['target_weights'] %}

with

risk as (
    select
        *,
        case when signal_valuation or signal_misclassification or signal_origin or signal_origin_mirror
            or signal_assessment then 1 else 0 end as is_flagged,
        case when inspection_outcome is not null then 1 else 0 end as is_inspected,
        case when {{ is_irregular_outcome('inspection_outcome') }} then 1 else 0 end as is_hit
    from {{ ref('declaration_risk') }}
    where flow = 'M'
),

declarations as (
    select
        declaration_id,
        max(trader_key) as trader_key,
        max(is_inspected) as is_inspected,
        max(is_hit) as is_hit
    from risk
    group by declaration_id
),

traders as (
    select
        'trader' as target_type,
        risk.trader_key as target_key,
        count(distinct risk.declaration_id) as declarations,
        count(*) as items,
        avg(cast(risk.is_flagged as {{ dbt.type_numeric() }})) as flagged_share,
        sum(risk.total_at_risk_omr) as total_at_risk_omr,
        sum(risk.undervaluation_omr) as value_gap_omr
    from risk
    group by risk.trader_key
),

trader_inspections as (
    select trader_key as target_key, sum(is_inspected) as inspections, sum(is_hit) as hits
    from declarations
    group by trader_key
),

routes as (
    select
        'route' as target_type,
        {{ dbt.concat(["coalesce(origin_iso3, '?')", "'>'", "coalesce(partner_iso3, '?')", "'|HS'", "hs2", "'|'", "coalesce(transport_mode, 'unknown')"]) }} as target_key,
        count(distinct declaration_id) as declarations,
        count(*) as items,
        avg(cast(is_flagged as {{ dbt.type_numeric() }})) as flagged_share,
        sum(total_at_risk_omr) as total_at_risk_omr,
        sum(undervaluation_omr) as value_gap_omr,
        count(distinct case when is_inspected = 1 then declaration_id end) as inspections,
        count(distinct case when is_hit = 1 then declaration_id end) as hits
    from risk
    group by 2
),

targets as (
    select
        traders.*,
        coalesce(trader_inspections.inspections, 0) as inspections,
        coalesce(trader_inspections.hits, 0) as hits
    from traders
    left join trader_inspections on trader_inspections.target_key = traders.target_key
    union all
    select * from routes
),

base_rate as (
    select cast(sum(is_hit) as double) / nullif(sum(is_inspected), 0) as rate from declarations
),

smoothed as (
    select
        targets.*,
        case when inspections > 0 then cast(hits as double) / inspections end as hit_rate,
        {{ shrunk_rate('hits', 'inspections', 'coalesce(base_rate.rate, 0)') }} as smoothed_hit_rate
    from targets
    cross join base_rate
),

scored as (
    select
        smoothed.*,
        100 * (
            {{ weights['money_at_risk'] }} * percent_rank() over (partition by target_type order by total_at_risk_omr)
            + {{ weights['value_gap'] }} * percent_rank() over (partition by target_type order by value_gap_omr)
            + {{ weights['flagged_share'] }} * percent_rank() over (partition by target_type order by flagged_share)
            + {{ weights['hit_rate'] }} * percent_rank() over (partition by target_type order by smoothed_hit_rate)
        ) as risk_score
    from smoothed
)

select
    cast(target_type as {{ dbt.type_string() }}) as target_type,
    cast(target_key as {{ dbt.type_string() }}) as target_key,
    cast(declarations as integer) as declarations,
    cast(items as integer) as items,
    cast(flagged_share as {{ dbt.type_numeric() }}) as flagged_share,
    cast(total_at_risk_omr as decimal(18, 3)) as total_at_risk_omr,
    cast(value_gap_omr as decimal(18, 3)) as value_gap_omr,
    cast(inspections as integer) as inspections,
    cast(hits as integer) as hits,
    cast(hit_rate as {{ dbt.type_numeric() }}) as hit_rate,
    cast(risk_score as decimal(5, 2)) as risk_score,
    cast(row_number() over (partition by target_type order by risk_score desc, total_at_risk_omr desc, target_key) as integer) as rank
from scored
