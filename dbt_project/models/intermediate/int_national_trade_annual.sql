{#-
  Oman's own trade at the mirror grain: year x flow x partner x HS6 in USD. Imports are attributed to
  the country of origin and exports to the country of destination, as partners record them. Where the
  partner reported that year in an older HS edition whose code split, the HS6 is its concordance group.
-#}
with

items as (
    select * from {{ ref('stg_declaration_items') }}
),

vintages as (
    select * from {{ ref('int_partner_vintages') }}
),

groups as (
    select * from {{ ref('int_hs6_concordance_groups') }}
    where side = 'national'
),

national as (
    select
        cast(extract(year from lodged_date) as integer) as year,
        flow,
        case when flow = 'M' then origin_iso3 else partner_iso3 end as partner_iso3,
        hs6,
        sum(customs_value_usd) as value_usd,
        sum(net_mass_kg) as net_mass_kg,
        count(*) as items
    from items
    group by 1, 2, 3, 4
),

grouped as (
    select
        national.year,
        national.flow,
        national.partner_iso3,
        coalesce(groups.group_hs6, national.hs6) as hs6,
        national.value_usd,
        national.net_mass_kg,
        national.items
    from national
    left join vintages on vintages.reporter_iso3 = national.partner_iso3 and vintages.year = national.year
    left join groups on groups.hs_vintage = vintages.hs_vintage and groups.hs6 = national.hs6
    where national.partner_iso3 is not null
)

select
    year,
    flow,
    partner_iso3,
    hs6,
    sum(value_usd) as national_value_usd,
    sum(net_mass_kg) as national_net_mass_kg,
    sum(items) as national_items
from grouped
group by year, flow, partner_iso3, hs6
