{#- Oman's own trade at the mirror grain: year x flow x partner x HS6 (or concordance group), in USD. -#}
select
    year,
    flow,
    partner_iso3,
    hs6,
    sum(national_value_usd) as national_value_usd,
    sum(national_net_mass_kg) as national_net_mass_kg,
    sum(national_items) as national_items
from {{ ref('int_national_trade_monthly') }}
group by year, flow, partner_iso3, hs6
