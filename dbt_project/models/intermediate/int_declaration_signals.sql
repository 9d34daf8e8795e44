{#-
  Every declaration item with its reference, rates and risk signals (parties by their pseudonymous
  keys, as loaded). Three signals, each with the money it puts at risk:
  - valuation: unit value under the reference's p25 and under `valuation_ratio_threshold` x median;
    the under-valuation is what a reference-priced item would be worth, less the declared value;
  - misclassification: unit value far outside its own subheading's range but inside p10-p90 of a
    higher-duty subheading of the same heading; the duty differential is at risk. A price that fits
    another subheading is a classification question, so it does not also count as under-valuation;
  - origin: GCC preference on goods of declared GCC origin consigned from outside the GCC, for a
    subheading never before consigned from inside the GCC with GCC origin; the MFN duty is at risk.
  VAT at risk is the VAT on the value and duty at risk, at the VAT rate that applied that day.
  Compliance history: the share of the trader's (and declarant's) declarations inspected in the
  `reference_months` before the item's month that ended in a discrepancy or seizure, shrunk towards
  the overall rate of the same window (`hit_rate_prior_weight` inspections' worth). It uses only
  earlier outcomes, never the item's own.
-#}
{% set r = var('risk') %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ delete_refresh_window('lodged_date', grain='month') }}",
) }}

with

-- every item: the history (inspections, GCC production) of the items being scored. Only the columns
-- the risk marts use: this CTE is read three times, and carrying every staged column through it wrote
-- 28 GB of spill at 10M items
all_items as (
    select
        i.declaration_id, i.declaration_ref, i.item_no, i.flow, i.lodged_date, i.trader_key, i.declarant_key, i.office_code,
        i.hs6, i.hs4, i.hs2, i.origin_iso3, i.partner_iso3, i.origin_is_gcc, i.partner_is_gcc,
        i.transport_mode, i.customs_value_omr, i.net_mass_kg, i.unit_value_omr_kg, i.risk_channel,
        i.inspection_outcome,
        cast(extract(year from i.lodged_date) * 12 + extract(month from i.lodged_date) as integer) as month_index
    from {{ ref('stg_declaration_items') }} as i
),

-- the items scored in this run: from the first changed month on (all of them in a full build)
items as (
    select
        all_items.*,
        t.mfn_duty_rate, t.duty_rate, t.vat_rate, t.has_gcc_preference, t.procedure_duty_exempt
    from all_items
    inner join {{ ref('int_item_tax_rates') }} as t
        on t.declaration_id = all_items.declaration_id and t.item_no = all_items.item_no
    where {{ in_refresh_window('all_items.lodged_date', grain='month') }}
),

refs as (
    select * from {{ ref('int_unit_value_references') }}
    where n >= {{ r['min_reference_items'] }}
),

hs6_rates as (
    select hs6, month_start, mfn_duty_rate from {{ ref('int_hs6_monthly_tax_rates') }}
),

referenced as (
    select
        items.*,
        case
            when r1.p50 is not null then 'hs6_origin'
            when r2.p50 is not null then 'hs6'
            when r3.p50 is not null then 'hs4'
            else 'none'
        end as reference_level,
        coalesce(r1.n, r2.n, r3.n) as reference_items,
        coalesce(r1.p25, r2.p25, r3.p25) as reference_low,
        coalesce(r1.p50, r2.p50, r3.p50) as reference_median,
        coalesce(r1.p75, r2.p75, r3.p75) as reference_high,
        r2.p50 as own_hs6_median
    from items
    left join refs as r1
        on r1.reference_level = 'hs6_origin' and r1.flow = items.flow and r1.code = items.hs6
        and r1.origin_iso3 = items.origin_iso3 and r1.month_index = items.month_index
    left join refs as r2
        on r2.reference_level = 'hs6' and r2.flow = items.flow and r2.code = items.hs6
        and r2.month_index = items.month_index
    left join refs as r3
        on r3.reference_level = 'hs4' and r3.flow = items.flow and r3.code = items.hs4
        and r3.month_index = items.month_index
),

-- higher-duty subheadings of the same heading whose p10-p90 range holds the item's unit value
candidates as (
    select
        referenced.declaration_id,
        referenced.item_no,
        c.code as suggested_hs6,
        rates.mfn_duty_rate as suggested_duty_rate,
        row_number() over (
            partition by referenced.declaration_id, referenced.item_no
            order by rates.mfn_duty_rate desc, abs(referenced.unit_value_omr_kg - c.p50) / c.p50, c.code
        ) as preference
    from referenced
    inner join refs as c
        on c.reference_level = 'hs6' and c.flow = referenced.flow and c.month_index = referenced.month_index
        and substring(c.code, 1, 4) = referenced.hs4 and c.code <> referenced.hs6
        and referenced.unit_value_omr_kg between c.p10 and c.p90
    inner join hs6_rates as rates
        on rates.hs6 = c.code
        and rates.month_start = cast({{ dbt.date_trunc('month', 'referenced.lodged_date') }} as date)
    where referenced.flow = 'M'
      and referenced.own_hs6_median > 0
      and (referenced.unit_value_omr_kg > {{ r['misclassification_ratio'] }} * referenced.own_hs6_median
           or referenced.unit_value_omr_kg * {{ r['misclassification_ratio'] }} < referenced.own_hs6_median)
      and rates.mfn_duty_rate > referenced.mfn_duty_rate
      and not referenced.has_gcc_preference and not referenced.procedure_duty_exempt
),

-- subheadings already consigned from inside the GCC with GCC origin, by month
gcc_production as (
    select hs6, month_index, count(*) as items
    from all_items
    where flow = 'M' and origin_is_gcc and partner_is_gcc
    group by hs6, month_index
),

origin_claims as (
    select distinct hs6, month_index
    from items
    where has_gcc_preference and not partner_is_gcc
),

gcc_history as (
    select origin_claims.hs6, origin_claims.month_index, coalesce(sum(gcc_production.items), 0) as prior_gcc_items
    from origin_claims
    left join gcc_production
        on gcc_production.hs6 = origin_claims.hs6 and gcc_production.month_index < origin_claims.month_index
    group by origin_claims.hs6, origin_claims.month_index
),

-- inspections and findings by party and month; history is read from the months before
inspections as (
    select
        party_type, party_key, month_index,
        count(*) as inspected,
        sum(case when inspection_outcome in ('discrepancy', 'seizure') then 1 else 0 end) as hits
    from (
        select distinct 'trader' as party_type, trader_key as party_key, declaration_id, month_index, inspection_outcome
        from all_items where inspection_outcome is not null
        union all
        select distinct 'declarant', declarant_key, declaration_id, month_index, inspection_outcome
        from all_items where inspection_outcome is not null
    ) as inspected_declarations
    group by party_type, party_key, month_index
),

party_months as (
    select distinct 'trader' as party_type, trader_key as party_key, month_index from items
    union
    select distinct 'declarant', declarant_key, month_index from items
),

-- the overall hit rate of the `reference_months` before each month, from monthly totals
monthly_inspections as (
    select month_index, sum(inspected) as inspected, sum(hits) as hits
    from inspections
    group by month_index
),

overall_rate as (
    select months.month_index, sum(t.hits) * 1.0 / nullif(sum(t.inspected), 0) as base_rate
    from (select distinct month_index from items) as months
    inner join monthly_inspections as t
        on t.month_index between months.month_index - {{ r['reference_months'] }} and months.month_index - 1
    group by months.month_index
),

-- each party's inspections and hits over the months before each month it declares in: a RANGE window
-- over its months (a range join on party and month held each inspection once per later month)
party_frames as (
    select
        coalesce(pm.party_type, i.party_type) as party_type,
        coalesce(pm.party_key, i.party_key) as party_key,
        coalesce(pm.month_index, i.month_index) as month_index,
        pm.party_key is not null as is_target,
        coalesce(i.inspected, 0) as inspected,
        coalesce(i.hits, 0) as hits
    from party_months as pm
    full outer join inspections as i
        on i.party_type = pm.party_type and i.party_key = pm.party_key and i.month_index = pm.month_index
),

party_windows as (
    select
        party_frames.*,
        sum(inspected) over prior_months as prior_inspected,
        sum(hits) over prior_months as prior_hits
    from party_frames
    window prior_months as (
        partition by party_type, party_key order by month_index
        range between {{ r['reference_months'] }} preceding and 1 preceding
    )
),

party_history as (
    select
        p.party_type, p.party_key, p.month_index,
        (coalesce(p.prior_hits, 0) + {{ r['hit_rate_prior_weight'] }} * o.base_rate)
            / (coalesce(p.prior_inspected, 0) + {{ r['hit_rate_prior_weight'] }}) as prior_hit_rate,
        o.base_rate
    from party_windows as p
    inner join overall_rate as o on o.month_index = p.month_index
    where p.is_target
),

signalled as (
    select
        referenced.*,
        case when referenced.reference_median > 0
            then referenced.unit_value_omr_kg / referenced.reference_median end as valuation_ratio,
        candidates.suggested_hs6,
        candidates.suggested_duty_rate,
        coalesce(candidates.suggested_hs6 is not null, false) as signal_misclassification,
        coalesce(referenced.has_gcc_preference and not referenced.partner_is_gcc
                 and gcc_history.prior_gcc_items = 0, false) as signal_origin,
        trader_history.prior_hit_rate as trader_prior_hit_rate,
        declarant_history.prior_hit_rate as declarant_prior_hit_rate,
        coalesce(trader_history.prior_hit_rate >= 2 * trader_history.base_rate, false) as signal_trader_history
    from referenced
    left join candidates
        on candidates.declaration_id = referenced.declaration_id and candidates.item_no = referenced.item_no
        and candidates.preference = 1
    left join gcc_history
        on gcc_history.hs6 = referenced.hs6 and gcc_history.month_index = referenced.month_index
    left join party_history as trader_history
        on trader_history.party_type = 'trader' and trader_history.party_key = referenced.trader_key
        and trader_history.month_index = referenced.month_index
    left join party_history as declarant_history
        on declarant_history.party_type = 'declarant' and declarant_history.party_key = referenced.declarant_key
        and declarant_history.month_index = referenced.month_index
),

valued as (
    select
        signalled.*,
        coalesce(
            not signal_misclassification
            and unit_value_omr_kg < reference_low
            and valuation_ratio < {{ r['valuation_ratio_threshold'] }}, false) as signal_valuation
    from signalled
),

money as (
    select
        valued.*,
        case when signal_valuation
            then round(cast(reference_median * net_mass_kg - customs_value_omr as decimal(38, 9)), 3)
            else 0 end as undervaluation_omr,
        case when signal_misclassification
            then round(customs_value_omr * (suggested_duty_rate - mfn_duty_rate), 3)
            else 0 end as misclassification_duty_omr,
        case when signal_origin and not procedure_duty_exempt
            then round(customs_value_omr * mfn_duty_rate, 3)
            else 0 end as origin_duty_omr
    from valued
)

select
    money.*,
    round(undervaluation_omr * duty_rate, 3) as valuation_duty_omr
from money
