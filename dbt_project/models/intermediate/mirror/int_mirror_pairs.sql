{#- Both sides of every year x flow x partner x HS6 that either side reports; a missing side is zero. -#}
with

national as (
    select * from {{ ref('int_national_trade_annual') }}
),

mirror as (
    select * from {{ ref('int_mirror_trade_annual') }}
),

vintages as (
    select * from {{ ref('int_partner_vintages') }}
),

paired as (
    select
        coalesce(national.year, mirror.year) as year,
        coalesce(national.flow, mirror.flow) as flow,
        coalesce(national.partner_iso3, mirror.partner_iso3) as partner_iso3,
        coalesce(national.hs6, mirror.hs6) as hs6,
        coalesce(national.national_value_usd, 0) as national_value_usd,
        coalesce(national.national_net_mass_kg, 0) as national_net_mass_kg,
        coalesce(national.national_items, 0) as national_items,
        coalesce(mirror.mirror_value_usd, 0) as mirror_value_usd,
        mirror.mirror_cif_value_usd,
        mirror.mirror_fob_value_usd,
        coalesce(mirror.mirror_net_mass_kg, 0) as mirror_net_mass_kg,
        coalesce(mirror.mirror_reexport_value_usd, 0) as mirror_reexport_value_usd,
        coalesce(mirror.is_vintage_mapped, true) as is_vintage_mapped
    from national
    full outer join mirror
        on mirror.year = national.year
        and mirror.flow = national.flow
        and mirror.partner_iso3 = national.partner_iso3
        and mirror.hs6 = national.hs6
)

select
    paired.*,
    -- the HS edition both sides are compared in: the partner's for that year (groups where codes split)
    vintages.hs_vintage as partner_hs_vintage,
    vintages.reporter_iso3 is not null as partner_reported_year
from paired
left join vintages on vintages.reporter_iso3 = paired.partner_iso3 and vintages.year = paired.year
