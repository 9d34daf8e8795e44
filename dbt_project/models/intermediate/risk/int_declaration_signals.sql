{#-
  Every declaration item with its reference, rates and risk signals (parties by their pseudonymous
  keys, as loaded). Item-level signals, each with the money it puts at risk (once per item):
  - valuation: unit value under the reference's p25 and under `valuation_ratio_threshold` x median;
    the under-valuation is what a reference-priced item would be worth, less the declared value;
  - misclassification: unit value far outside its own subheading's range but inside p10-p90 of a
    higher-duty subheading of the same heading; the duty differential is at risk. A price that fits
    another subheading is a classification question, so it does not also count as under-valuation;
  - origin: GCC origin or the GCC preference on goods consigned from outside the GCC, item by item
    (genuine GCC trade in the same HS6 does not clear it); the MFN duty relieved is at risk;
  - origin_mirror: goods of GCC origin consigned from a GCC partner, in a year x partner x HS6 cell
    where Oman's imports exceed `origin_mirror_ratio` x what the partner reports as its exports of it
    to Oman (re-exports apart, brought to CIF), by at least `origin_mirror_min_excess_omr`; the MFN
    duty relieved on the excess share of the cell is at risk. Consigned from outside vs inside the GCC:
    an item has at most one of the two origin signals;
  - assessment: declared duty or VAT short of what the tariff gives on the declared value (duty at
    `duty_rate`, VAT on value plus that duty) by more than `assessment_tolerance_baisa`; the shortfall.
  VAT at risk is the VAT on the value and duty at risk, at the VAT rate that applied that day.
  Compliance history: the share of the trader's (and declarant's) declarations inspected in the
  `reference_months` before the item's month that ended in a discrepancy or seizure, shrunk towards
  the overall rate of the same window (`hit_rate_prior_weight` inspections' worth). It uses only
  earlier outcomes, never the item's own. A history signal needs evidence: `history_min_inspections`
  prior inspections, `history_min_hits` hits among them, a positive overall rate, and a rate at least
  `trader_history_ratio` (`declarant_history_ratio`) times it.
-#}
{% set r = var('risk') %}
{{ config(on_schema_change='sync_all_columns', **window_incremental('lodged_date', grain='month', partition_by='month_index')) }}

with

-- every item: the history (inspections, GCC production) of the items being scored. Only the columns
-- the risk marts use: this CTE is read three times, and carrying every staged column through it wrote
-- 28 GB of spill at 10M items
all_items as (
    select
        declaration_id, declaration_ref, item_no, flow, lodged_date, trader_key, declarant_key, office_code,
        hs6, hs4, hs2, origin_iso3, partner_iso3, origin_is_gcc, partner_is_gcc,
        transport_mode, customs_value_omr, net_mass_kg, unit_value_omr_kg, risk_channel,
        inspection_outcome, duty_omr, vat_omr,
        {{ month_index('lodged_date') }} as month_index
    from {{ ref('int_declaration_items') }}
),

-- the items scored in this run: from the first changed month on (all of them in a full build)
items as (
    select
        all_items.*,
        tax_rates.mfn_duty_rate, tax_rates.duty_rate, tax_rates.vat_rate, tax_rates.has_gcc_preference,
        tax_rates.procedure_duty_exempt
    from all_items
    inner join {{ ref('int_item_tax_rates') }} as tax_rates
        on tax_rates.declaration_id = all_items.declaration_id and tax_rates.item_no = all_items.item_no
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
            when by_hs6_origin.p50 is not null then 'hs6_origin'
            when by_hs6.p50 is not null then 'hs6'
            when by_hs4.p50 is not null then 'hs4'
            else 'none'
        end as reference_level,
        coalesce(by_hs6_origin.n, by_hs6.n, by_hs4.n) as reference_items,
        coalesce(by_hs6_origin.p25, by_hs6.p25, by_hs4.p25) as reference_low,
        coalesce(by_hs6_origin.p50, by_hs6.p50, by_hs4.p50) as reference_median,
        coalesce(by_hs6_origin.p75, by_hs6.p75, by_hs4.p75) as reference_high,
        by_hs6.p50 as own_hs6_median
    from items
    left join refs as by_hs6_origin
        on by_hs6_origin.reference_level = 'hs6_origin' and by_hs6_origin.flow = items.flow and by_hs6_origin.code = items.hs6
        and by_hs6_origin.origin_iso3 = items.origin_iso3 and by_hs6_origin.month_index = items.month_index
    left join refs as by_hs6
        on by_hs6.reference_level = 'hs6' and by_hs6.flow = items.flow and by_hs6.code = items.hs6
        and by_hs6.month_index = items.month_index
    left join refs as by_hs4
        on by_hs4.reference_level = 'hs4' and by_hs4.flow = items.flow and by_hs4.code = items.hs4
        and by_hs4.month_index = items.month_index
),

-- higher-duty subheadings of the same heading whose p10-p90 range holds the item's unit value
candidates as (
    select
        referenced.declaration_id,
        referenced.item_no,
        candidate_refs.code as suggested_hs6,
        rates.mfn_duty_rate as suggested_duty_rate,
        row_number() over (
            partition by referenced.declaration_id, referenced.item_no
            order by
                rates.mfn_duty_rate desc,
                abs(referenced.unit_value_omr_kg - candidate_refs.p50) / candidate_refs.p50,
                candidate_refs.code
        ) as preference
    from referenced
    inner join refs as candidate_refs
        on candidate_refs.reference_level = 'hs6' and candidate_refs.flow = referenced.flow
        and candidate_refs.month_index = referenced.month_index
        and substring(candidate_refs.code, 1, 4) = referenced.hs4 and candidate_refs.code <> referenced.hs6
        and referenced.unit_value_omr_kg between candidate_refs.p10 and candidate_refs.p90
    inner join hs6_rates as rates
        on rates.hs6 = candidate_refs.code
        and rates.month_start = cast({{ dbt.date_trunc('month', 'referenced.lodged_date') }} as date)
    where referenced.flow = 'M'
      and referenced.own_hs6_median > 0
      and (referenced.unit_value_omr_kg > {{ r['misclassification_ratio'] }} * referenced.own_hs6_median
           or referenced.unit_value_omr_kg * {{ r['misclassification_ratio'] }} < referenced.own_hs6_median)
      and rates.mfn_duty_rate > referenced.mfn_duty_rate
      and not referenced.has_gcc_preference and not referenced.procedure_duty_exempt
),

-- the origin mirror test: Oman's imports of GCC origin consigned from each GCC partner, per year x
-- HS6 (the partner's concordance group where it reported in an older HS edition) ...
gcc_consigned as (
    select
        cast(extract(year from all_items.lodged_date) as integer) as year,
        all_items.partner_iso3,
        coalesce(groups.group_hs6, all_items.hs6) as mirror_hs6,
        all_items.hs6,
        all_items.customs_value_omr
    from all_items
    inner join {{ ref('int_partner_vintages') }} as vintages
        on vintages.reporter_iso3 = all_items.partner_iso3
        and vintages.year = cast(extract(year from all_items.lodged_date) as integer)
    left join {{ ref('int_hs6_concordance_groups') }} as groups
        on groups.side = 'national' and groups.hs_vintage = vintages.hs_vintage and groups.hs6 = all_items.hs6
    where all_items.flow = 'M' and all_items.origin_is_gcc and all_items.partner_is_gcc
),

-- ... against what the partner reports as its own exports of it to Oman (re-exports kept apart), at
-- CIF; only partners that reported that year (int_partner_vintages), a missing cell being zero
origin_mirror_cells as (
    select
        national.year, national.partner_iso3, national.mirror_hs6,
        national.value_omr,
        coalesce(mirror.mirror_value_usd, 0) * {{ var('omr_per_usd') }}
            * {{ var('mirror')['default_cif_fob_margin'] }} as mirror_value_omr
    from (
        select year, partner_iso3, mirror_hs6, sum(customs_value_omr) as value_omr
        from gcc_consigned
        group by year, partner_iso3, mirror_hs6
    ) as national
    left join {{ ref('int_mirror_trade_annual') }} as mirror
        on mirror.flow = 'M' and mirror.year = national.year and mirror.partner_iso3 = national.partner_iso3
        and mirror.hs6 = national.mirror_hs6
),

origin_mirror as (
    select distinct
        gcc_consigned.year, gcc_consigned.partner_iso3, gcc_consigned.hs6,
        cast(cells.value_omr - cells.mirror_value_omr as double) / cells.value_omr as excess_share
    from origin_mirror_cells as cells
    inner join gcc_consigned
        on gcc_consigned.year = cells.year and gcc_consigned.partner_iso3 = cells.partner_iso3
        and gcc_consigned.mirror_hs6 = cells.mirror_hs6
    where cells.value_omr > {{ r['origin_mirror_ratio'] }} * cells.mirror_value_omr
      and cells.value_omr - cells.mirror_value_omr >= {{ r['origin_mirror_min_excess_omr'] }}
),

-- inspections and findings by party and month; history is read from the months before
inspections as (
    select
        party_type, party_key, month_index,
        count(*) as inspected,
        sum(case when {{ is_irregular_outcome('inspection_outcome') }} then 1 else 0 end) as hits
    from (
        select distinct 'trader' as party_type, trader_key as party_key, declaration_id, month_index, inspection_outcome
        from all_items where inspection_outcome is not null
        union all
        select distinct 'declarant' as party_type, declarant_key as party_key, declaration_id, month_index, inspection_outcome
        from all_items where inspection_outcome is not null
    ) as inspected_declarations
    group by party_type, party_key, month_index
),

party_months as (
    select distinct 'trader' as party_type, trader_key as party_key, month_index from items
    union
    select distinct 'declarant' as party_type, declarant_key as party_key, month_index from items
),

-- the overall hit rate of the `reference_months` before each month, from monthly totals
monthly_inspections as (
    select month_index, sum(inspected) as inspected, sum(hits) as hits
    from inspections
    group by month_index
),

overall_rate as (
    select
        months.month_index,
        cast(sum(monthly_inspections.hits) as double) / nullif(sum(monthly_inspections.inspected), 0) as base_rate
    from (select distinct month_index from items) as months
    inner join monthly_inspections
        on monthly_inspections.month_index between months.month_index - {{ r['reference_months'] }}
        and months.month_index - 1
    group by months.month_index
),

-- each party's inspections and hits over the months before each month it declares in: a RANGE window
-- over its months (a range join on party and month held each inspection once per later month)
party_frames as (
    select
        coalesce(party_months.party_type, inspections.party_type) as party_type,
        coalesce(party_months.party_key, inspections.party_key) as party_key,
        coalesce(party_months.month_index, inspections.month_index) as month_index,
        party_months.party_key is not null as is_target,
        coalesce(inspections.inspected, 0) as inspected,
        coalesce(inspections.hits, 0) as hits
    from party_months
    full outer join inspections
        on inspections.party_type = party_months.party_type and inspections.party_key = party_months.party_key
        and inspections.month_index = party_months.month_index
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
        party_windows.party_type, party_windows.party_key, party_windows.month_index,
        {{ shrunk_rate('party_windows.prior_hits', 'party_windows.prior_inspected', 'overall_rate.base_rate') }}
            as prior_hit_rate,
        coalesce(party_windows.prior_inspected, 0) as prior_inspected,
        coalesce(party_windows.prior_hits, 0) as prior_hits,
        overall_rate.base_rate
    from party_windows
    inner join overall_rate on overall_rate.month_index = party_windows.month_index
    where party_windows.is_target
),

signalled as (
    select
        referenced.*,
        case when referenced.reference_median > 0
            then referenced.unit_value_omr_kg / referenced.reference_median end as valuation_ratio,
        candidates.suggested_hs6,
        candidates.suggested_duty_rate,
        coalesce(candidates.suggested_hs6 is not null, false) as signal_misclassification,
        coalesce((referenced.origin_is_gcc or referenced.has_gcc_preference) and not referenced.partner_is_gcc, false)
            as signal_origin,
        coalesce(referenced.origin_is_gcc and referenced.partner_is_gcc and origin_mirror.excess_share is not null, false)
            as signal_origin_mirror,
        coalesce(origin_mirror.excess_share, 0) as origin_mirror_excess_share,
        trader_history.prior_hit_rate as trader_prior_hit_rate,
        declarant_history.prior_hit_rate as declarant_prior_hit_rate,
        {{ history_signal('trader_history', r['trader_history_ratio']) }} as signal_trader_history,
        {{ history_signal('declarant_history', r['declarant_history_ratio']) }} as signal_declarant_history
    from referenced
    left join candidates
        on candidates.declaration_id = referenced.declaration_id and candidates.item_no = referenced.item_no
        and candidates.preference = 1
    left join origin_mirror
        on origin_mirror.year = cast(extract(year from referenced.lodged_date) as integer)
        and origin_mirror.partner_iso3 = referenced.partner_iso3 and origin_mirror.hs6 = referenced.hs6
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
            and valuation_ratio < {{ r['valuation_ratio_threshold'] }}, false) as signal_valuation,
        -- what the tariff gives on the declared value, to compare with what was declared
        {{ to_baisa('customs_value_omr * duty_rate') }} as assessed_duty_omr
    from signalled
),

assessed as (
    select
        valued.*,
        {{ vat_at_risk('customs_value_omr', 'assessed_duty_omr', 'vat_rate') }} as assessed_vat_omr
    from valued
),

money as (
    select
        assessed.*,
        case when signal_valuation
            then round(cast(reference_median * net_mass_kg - customs_value_omr as decimal(38, 9)), 3)
            else 0 end as undervaluation_omr,
        case when signal_misclassification
            then round(customs_value_omr * (suggested_duty_rate - mfn_duty_rate), 3)
            else 0 end as misclassification_duty_omr,
        -- the duty the GCC preference relieved: all of it (origin), or the cell's excess share (mirror)
        case
            when not has_gcc_preference or procedure_duty_exempt then 0
            when signal_origin then {{ to_baisa('customs_value_omr * mfn_duty_rate') }}
            when signal_origin_mirror then {{ to_baisa('customs_value_omr * mfn_duty_rate * origin_mirror_excess_share') }}
            else 0 end as origin_duty_omr,
        {{ tax_shortfall('duty_omr', 'assessed_duty_omr') }} as assessment_duty_omr,
        {{ tax_shortfall('vat_omr', 'assessed_vat_omr') }} as assessment_vat_omr
    from assessed
)

select
    money.*,
    assessment_duty_omr > 0 or assessment_vat_omr > 0 as signal_assessment,
    round(undervaluation_omr * duty_rate, 3) as valuation_duty_omr
from money
