{#-
  Mirror gaps: what Oman recorded against what its partners say they shipped to (bought from) Oman, per
  year x flow x partner x HS6, the partner's side brought to Oman's valuation basis (CIF for imports,
  FOB for exports). A gap is national minus mirror. See docs/mirror-analysis.md.
-#}
{% set m = var('mirror') %}

with

pairs as (
    select * from {{ ref('int_mirror_pairs') }}
),

margins as (
    select * from {{ ref('stg_cif_fob_margins') }}
),

countries as (
    select * from {{ ref('stg_countries') }}
),

nomenclature as (
    select * from {{ ref('stg_hs_nomenclature') }}
),

groups as (
    select distinct hs_vintage, group_hs6, group_members
    from {{ ref('int_hs6_concordance_groups') }}
    where side = 'national' and group_size > 1
),

margin_candidates as (
    select
        pairs.year, pairs.flow, pairs.partner_iso3, pairs.hs6,
        margins.margin,
        row_number() over (
            partition by pairs.year, pairs.flow, pairs.partner_iso3, pairs.hs6
            order by margins.specificity desc
        ) as preference
    from pairs
    inner join margins
        on (margins.partner_iso3 = pairs.partner_iso3 or margins.partner_iso3 is null)
        and (margins.hs_chapter = substring(pairs.hs6, 1, 2) or margins.hs_chapter is null)
),

adjusted as (
    select
        pairs.*,
        coalesce(margin_candidates.margin, {{ m['default_cif_fob_margin'] }}) as cif_fob_margin,
        case
            -- Oman's imports are CIF; partners' exports are FOB unless they report CIF
            when pairs.flow = 'M' and pairs.mirror_cif_value_usd is not null then pairs.mirror_cif_value_usd
            when pairs.flow = 'M' then pairs.mirror_value_usd * coalesce(margin_candidates.margin, {{ m['default_cif_fob_margin'] }})
            -- Oman's exports are FOB; partners' imports are CIF unless they report FOB
            when pairs.mirror_fob_value_usd is not null then pairs.mirror_fob_value_usd
            else pairs.mirror_value_usd / coalesce(margin_candidates.margin, {{ m['default_cif_fob_margin'] }})
        end as mirror_value_adjusted_usd,
        case
            when pairs.flow = 'M' and pairs.mirror_cif_value_usd is not null then 'reported_cif'
            when pairs.flow = 'X' and pairs.mirror_fob_value_usd is not null then 'reported_fob'
            else 'margin'
        end as mirror_adjustment
    from pairs
    left join margin_candidates
        on margin_candidates.year = pairs.year
        and margin_candidates.flow = pairs.flow
        and margin_candidates.partner_iso3 = pairs.partner_iso3
        and margin_candidates.hs6 = pairs.hs6
        and margin_candidates.preference = 1
),

measured as (
    select
        adjusted.*,
        national_value_usd - mirror_value_adjusted_usd as gap_usd,
        {{ gap_pct('national_value_usd', 'mirror_value_adjusted_usd') }} as gap_pct,
        {{ symmetric_discrepancy('national_value_usd', 'mirror_value_adjusted_usd') }} as symmetric_discrepancy,
        case when national_net_mass_kg > 0 or mirror_net_mass_kg > 0
            then 1 - abs(national_net_mass_kg - mirror_net_mass_kg)
                / (case when national_net_mass_kg > mirror_net_mass_kg then national_net_mass_kg else mirror_net_mass_kg end)
        end as quantity_agreement,
        case when national_net_mass_kg > 0 then national_value_usd / national_net_mass_kg end as national_unit_value_usd_kg,
        case when mirror_net_mass_kg > 0 then mirror_value_adjusted_usd / mirror_net_mass_kg end as mirror_unit_value_usd_kg
    from adjusted
),

judged as (
    select
        measured.*,
        groups.group_members,
        countries.country_name as partner_name,
        countries.comtrade_code as partner_comtrade_code,
        coalesce(countries.comtrade_code in ({{ m['special_partner_codes'] | join(', ') }}), false)
            or measured.hs6 in ({{ quoted_list(m['never_flag_commodities']) }})
            as is_excluded_from_flags,
        abs(gap_usd) >= {{ m['min_gap_usd'] }}
            and symmetric_discrepancy >= {{ m['min_symmetric_discrepancy'] }} as is_material
    from measured
    left join countries on countries.iso3 = measured.partner_iso3
    left join groups on groups.group_hs6 = measured.hs6 and groups.hs_vintage = measured.partner_hs_vintage
),

flagged as (
    select
        judged.*,
        is_material and not is_excluded_from_flags and partner_reported_year and is_vintage_mapped as is_flagged,
        {{ flag_list([
            ('mirror_exceeds_national', 'gap_usd < 0'),
            ('national_exceeds_mirror', 'gap_usd > 0'),
            ('unit_value_below_mirror', 'national_unit_value_usd_kg < ' ~ m['unit_value_ratio_below'] ~ ' * mirror_unit_value_usd_kg'),
            ('quantity_mismatch', 'quantity_agreement < ' ~ m['min_quantity_agreement']),
        ]) }} as rule_hits,
        {{ flag_list([
            ('partner_did_not_report_this_year', 'not partner_reported_year'),
            ('special_partner_or_commodity', 'is_excluded_from_flags'),
            ('hs_edition_not_mapped', 'not is_vintage_mapped'),
            ('partner_hs_edition_converted', 'partner_hs_vintage <> \'' ~ var('national_hs_vintage') ~ '\''),
            ('compared_as_concordance_group', 'group_members is not null'),
            ('reexports_reported_separately', 'mirror_reexport_value_usd > 0'),
        ]) }} as context_hits
    from judged
)

select
    cast(flagged.year as integer) as year,
    cast(flagged.flow as {{ dbt.type_string() }}) as flow,
    cast(flagged.partner_iso3 as {{ dbt.type_string() }}) as partner_iso3,
    cast(flagged.partner_name as {{ dbt.type_string() }}) as partner_name,
    cast(flagged.hs6 as {{ dbt.type_string() }}) as hs6,
    cast(substring(flagged.hs6, 1, 4) as {{ dbt.type_string() }}) as hs4,
    cast(substring(flagged.hs6, 1, 2) as {{ dbt.type_string() }}) as hs2,
    cast(coalesce(flagged.group_members, flagged.hs6) as {{ dbt.type_string() }}) as hs6_group,
    cast(nomenclature.description as {{ dbt.type_string() }}) as hs6_description,
    cast(flagged.national_value_usd as {{ dbt.type_numeric() }}) as national_value_usd,
    cast(flagged.mirror_value_usd as {{ dbt.type_numeric() }}) as mirror_value_usd,
    cast(flagged.cif_fob_margin as {{ dbt.type_numeric() }}) as cif_fob_margin,
    cast(flagged.mirror_adjustment as {{ dbt.type_string() }}) as mirror_adjustment,
    cast(flagged.mirror_value_adjusted_usd as {{ dbt.type_numeric() }}) as mirror_value_adjusted_usd,
    cast(flagged.mirror_reexport_value_usd as {{ dbt.type_numeric() }}) as mirror_reexport_value_usd,
    cast(flagged.gap_usd as {{ dbt.type_numeric() }}) as gap_usd,
    cast(flagged.gap_pct as {{ dbt.type_numeric() }}) as gap_pct,
    cast(flagged.symmetric_discrepancy as {{ dbt.type_numeric() }}) as symmetric_discrepancy,
    cast(flagged.national_net_mass_kg as {{ dbt.type_numeric() }}) as national_net_mass_kg,
    cast(flagged.mirror_net_mass_kg as {{ dbt.type_numeric() }}) as mirror_net_mass_kg,
    cast(flagged.quantity_agreement as {{ dbt.type_numeric() }}) as quantity_agreement,
    cast(flagged.national_unit_value_usd_kg as {{ dbt.type_numeric() }}) as national_unit_value_usd_kg,
    cast(flagged.mirror_unit_value_usd_kg as {{ dbt.type_numeric() }}) as mirror_unit_value_usd_kg,
    cast(flagged.national_items as integer) as national_items,
    cast(flagged.partner_hs_vintage as {{ dbt.type_string() }}) as partner_hs_vintage,
    flagged.is_flagged,
    cast(case when flagged.is_flagged then {{ drop_last_char('flagged.rule_hits') }} end as {{ dbt.type_string() }}) as flag_reasons,
    cast({{ drop_last_char('flagged.context_hits') }} as {{ dbt.type_string() }}) as context_notes,
    cast(case when flagged.is_flagged then rank() over (
        partition by flagged.is_flagged order by abs(flagged.gap_usd) desc
    ) end as integer) as flag_rank
from flagged
left join nomenclature on nomenclature.hs_code = flagged.hs6
