{#-
  Oman's own trade at the mirror grain, by month: imports attributed to the country of origin, exports
  to the country of destination, as partners record them. Where the partner reported that year in an
  older HS edition whose code split, the HS6 is its concordance group.
  Incremental by month (macros/refresh_window.sql).
-#}
{{ config(**window_incremental('month_start', grain='month')) }}

with

items as (
    select * from {{ ref('int_declaration_items') }}
    where {{ in_refresh_window('lodged_date', grain='month') }}
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
        cast({{ dbt.date_trunc('month', 'lodged_date') }} as date) as month_start,
        flow,
        case when flow = 'M' then origin_iso3 else partner_iso3 end as partner_iso3,
        hs6,
        sum(customs_value_usd) as value_usd,
        sum(net_mass_kg) as net_mass_kg,
        count(*) as items
    from items
    group by 1, 2, 3, 4, 5
)

select
    national.year,
    national.month_start,
    national.flow,
    national.partner_iso3,
    coalesce(groups.group_hs6, national.hs6) as hs6,
    sum(national.value_usd) as national_value_usd,
    sum(national.net_mass_kg) as national_net_mass_kg,
    sum(national.items) as national_items
from national
left join vintages on vintages.reporter_iso3 = national.partner_iso3 and vintages.year = national.year
left join groups on groups.hs_vintage = vintages.hs_vintage and groups.hs6 = national.hs6
where national.partner_iso3 is not null
group by 1, 2, 3, 4, 5
