{#-
  Duty and VAT at risk by month x method x HS6 x partner. Five methods, each counting a loss once:
  valuation, misclassification, origin (either origin signal: an item has at most one) and assessment
  (declared duty and VAT short of the tariff) from the item signals of declaration_risk, mirror from the
  flagged negative import gaps of mirror_gaps (an annual gap spread over the year's months in
  proportion to Oman's recorded imports of the cell, evenly where Oman recorded none). The methods
  overlap (an under-valued shipment also opens a mirror gap), so totals are compared side by side,
  never summed across methods. Partner is the country of origin, as in mirror_gaps (XXX when the
  declared origin is not in the countries table).
-#}
with

risk as (
    select
        period_month, hs6, coalesce(origin_iso3, 'XXX') as origin_iso3, undervaluation_omr,
        valuation_duty_at_risk_omr, valuation_vat_at_risk_omr,
        misclassification_duty_at_risk_omr, misclassification_vat_at_risk_omr,
        origin_duty_at_risk_omr, origin_vat_at_risk_omr, assessment_duty_omr, assessment_vat_omr,
        signal_valuation, signal_misclassification, signal_origin, signal_origin_mirror, signal_assessment
    from {{ ref('declaration_risk') }}
    where flow = 'M'
),

item_methods as (
    select period_month, 'valuation' as method, hs6, origin_iso3 as partner_iso3,
           undervaluation_omr as value_gap_omr, valuation_duty_at_risk_omr as duty_omr,
           valuation_vat_at_risk_omr as vat_omr
    from risk where signal_valuation
    union all
    select period_month, 'misclassification' as method, hs6, origin_iso3 as partner_iso3, 0 as value_gap_omr,
           misclassification_duty_at_risk_omr as duty_omr, misclassification_vat_at_risk_omr as vat_omr
    from risk where signal_misclassification
    union all
    select period_month, 'origin' as method, hs6, origin_iso3 as partner_iso3, 0 as value_gap_omr,
           origin_duty_at_risk_omr as duty_omr, origin_vat_at_risk_omr as vat_omr
    from risk where signal_origin or signal_origin_mirror
    union all
    select period_month, 'assessment' as method, hs6, origin_iso3 as partner_iso3, 0 as value_gap_omr,
           assessment_duty_omr as duty_omr, assessment_vat_omr as vat_omr
    from risk where signal_assessment
),

gaps as (
    select year, partner_iso3, hs6, -gap_usd * {{ var('omr_per_usd') }} as value_gap_omr
    from {{ ref('mirror_gaps') }}
    where flow = 'M' and is_flagged and gap_usd < 0
),

monthly as (
    select year, month_start, partner_iso3, hs6, national_value_usd
    from {{ ref('int_national_trade_monthly') }}
    where flow = 'M'
),

months as (
    select distinct year, month_start from monthly
),

shares as (
    select
        gaps.year, gaps.partner_iso3, gaps.hs6, gaps.value_gap_omr, monthly.month_start,
        cast(monthly.national_value_usd as double) / sum(monthly.national_value_usd) over (
            partition by gaps.year, gaps.partner_iso3, gaps.hs6) as share
    from gaps
    inner join monthly
        on monthly.year = gaps.year and monthly.partner_iso3 = gaps.partner_iso3 and monthly.hs6 = gaps.hs6
    where monthly.national_value_usd > 0
),

unrecorded as (
    select
        gaps.year, gaps.partner_iso3, gaps.hs6, gaps.value_gap_omr, months.month_start,
        cast(1 as double) / count(*) over (partition by gaps.year, gaps.partner_iso3, gaps.hs6) as share
    from gaps
    inner join months on months.year = gaps.year
    where not exists (
        select 1 from monthly
        where monthly.year = gaps.year and monthly.partner_iso3 = gaps.partner_iso3
          and monthly.hs6 = gaps.hs6 and monthly.national_value_usd > 0)
),

spread as (
    select * from shares
    union all
    select * from unrecorded
),

mirror_method as (
    select
        spread.month_start as period_month,
        'mirror' as method,
        spread.hs6,
        spread.partner_iso3,
        {{ to_baisa('spread.value_gap_omr * spread.share') }} as value_gap_omr,
        case when coalesce(countries.is_gcc, false) then 0 else coalesce(rates.mfn_duty_rate, 0) end as duty_rate,
        coalesce(rates.vat_rate, 0) as vat_rate
    from spread
    left join {{ ref('int_hs6_monthly_tax_rates') }} as rates
        on rates.hs6 = spread.hs6 and rates.month_start = spread.month_start
    left join {{ ref('stg_countries') }} as countries on countries.iso3 = spread.partner_iso3
),

mirror_taxed as (
    select
        period_month, method, hs6, partner_iso3, value_gap_omr,
        duty_omr,
        {{ vat_at_risk('value_gap_omr', 'duty_omr', 'vat_rate') }} as vat_omr
    from (
        select mirror_method.*, {{ to_baisa('value_gap_omr * duty_rate') }} as duty_omr
        from mirror_method
    ) as mirror_duty
),

all_methods as (
    select period_month, method, hs6, partner_iso3, value_gap_omr, duty_omr, vat_omr, 1 as items from item_methods
    union all
    select period_month, method, hs6, partner_iso3, value_gap_omr, duty_omr, vat_omr, 0 as items from mirror_taxed
)

select
    cast(period_month as date) as period_month,
    cast(method as {{ dbt.type_string() }}) as method,
    cast(hs6 as {{ dbt.type_string() }}) as hs6,
    cast(partner_iso3 as {{ dbt.type_string() }}) as partner_iso3,
    cast(sum(value_gap_omr) as decimal(18, 3)) as value_gap_omr,
    cast(sum(duty_omr) as decimal(18, 3)) as duty_at_risk_omr,
    cast(sum(vat_omr) as decimal(18, 3)) as vat_at_risk_omr,
    cast(sum(duty_omr) + sum(vat_omr) as decimal(18, 3)) as total_at_risk_omr,
    cast(sum(items) as integer) as items
from all_methods
group by period_month, method, hs6, partner_iso3
