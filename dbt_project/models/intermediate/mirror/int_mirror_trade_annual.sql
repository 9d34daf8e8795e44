{#-
  Partners' records about Oman turned into the mirror of Oman's trade, at year x flow x partner x HS6
  in the national HS edition. A partner's exports to Oman mirror Oman's imports, its imports from Oman
  mirror Oman's exports; re-exports (RX) are kept apart. Only totals are used (all procedures, all
  modes, no second partner), and annual figures are preferred to monthly ones for the same year.
-#}
with

records as (
    select * from {{ ref('stg_partner_trade') }}
    where partner_code = {{ var('mirror')['home_comtrade_code'] }}
      and type_code = 'C'
      and coalesce(customs_code, 'C00') = 'C00'
      and coalesce(mot_code, 0) = 0
      and coalesce(partner2_code, 0) = 0
      and (hs6 is not null or cmd_code in ({{ quoted_list(var('mirror')['never_flag_commodities']) }}))
),

annual_available as (
    select distinct reporter_iso3, year from records where freq_code = 'A'
),

chosen as (
    select records.*
    from records
    left join annual_available
        on annual_available.reporter_iso3 = records.reporter_iso3 and annual_available.year = records.year
    where records.freq_code = 'A' or annual_available.year is null
),

groups as (
    select * from {{ ref('int_hs6_concordance_groups') }}
    where side = 'partner'
),

mapped as (
    select
        chosen.year,
        case when chosen.flow_code in ('X', 'RX') then 'M' else 'X' end as flow,
        chosen.flow_code in ('RX', 'RM') as is_reexport,
        chosen.reporter_iso3 as partner_iso3,
        chosen.reporter_code as partner_code,
        coalesce(groups.group_hs6, chosen.hs6, chosen.cmd_code) as hs6,
        chosen.classification_code as hs_vintage,
        chosen.classification_code = '{{ var("national_hs_vintage") }}' or groups.group_hs6 is not null
            or chosen.hs6 is null as is_vintage_mapped,
        chosen.primary_value_usd,
        chosen.cif_value_usd,
        chosen.fob_value_usd,
        chosen.net_mass_kg
    from chosen
    left join groups on groups.hs_vintage = chosen.classification_code and groups.hs6 = chosen.hs6
)

select
    year,
    flow,
    partner_iso3,
    max(partner_code) as partner_code,
    hs6,
    min(case when is_vintage_mapped then 1 else 0 end) = 1 as is_vintage_mapped,
    sum(case when not is_reexport then primary_value_usd else 0 end) as mirror_value_usd,
    -- CIF of partner exports / FOB of partner imports, when every record reports it
    case when count(case when not is_reexport then 1 end) = count(case when not is_reexport then cif_value_usd end)
        then sum(case when not is_reexport then cif_value_usd end) end as mirror_cif_value_usd,
    case when count(case when not is_reexport then 1 end) = count(case when not is_reexport then fob_value_usd end)
        then sum(case when not is_reexport then fob_value_usd end) end as mirror_fob_value_usd,
    sum(case when not is_reexport then net_mass_kg else 0 end) as mirror_net_mass_kg,
    sum(case when is_reexport then primary_value_usd else 0 end) as mirror_reexport_value_usd
from mapped
group by year, flow, partner_iso3, hs6
