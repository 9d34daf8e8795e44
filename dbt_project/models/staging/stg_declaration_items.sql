{#-
  Declaration items, typed and enriched for analysis: HS6/HS4/HS2 from the national tariff line, ISO
  alpha-3 countries, the invoice converted to rials at the rate in force on the lodgement date, values
  in OMR and USD and unit values per kg.
  Incremental: rebuilt from the earliest changed lodgement day (macros/refresh_window.sql).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_refresh_window('lodged_date') }}",
) }}

with

source as (
    select * from {{ source('raw', 'declaration_items') }}
    where {{ in_refresh_window('cast(lodged_at as date)') }}
),

countries as (
    select * from {{ ref('stg_countries') }}
),

rates as (
    select * from {{ ref('stg_exchange_rates') }}
),

renamed as (
    select
        declaration_id,
        declaration_ref,
        item_no,
        flow,
        lodged_at,
        cast(lodged_at as date) as lodged_date,
        released_at,
        office_code,
        procedure_code,
        declarant_key,
        trader_key,
        hs_code,
        substring(hs_code, 1, 6) as hs6,
        substring(hs_code, 1, 4) as hs4,
        substring(hs_code, 1, 2) as hs2,
        goods_description,
        origin_country as origin_iso2,
        partner_country as partner_iso2,
        transport_mode,
        net_mass_kg,
        supplementary_qty,
        supplementary_unit,
        invoice_amount,
        invoice_currency,
        incoterm,
        customs_value_omr,
        duty_omr,
        vat_omr,
        preference_code,
        risk_channel,
        inspection_outcome,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source
),

enriched as (
    select
        renamed.*,
        origin.iso3 as origin_iso3,
        partner.iso3 as partner_iso3,
        coalesce(origin.is_gcc, false) as origin_is_gcc,
        coalesce(partner.is_gcc, false) as partner_is_gcc,
        case
            when renamed.invoice_currency = 'OMR' then renamed.invoice_amount
            else cast(renamed.invoice_amount / rates.units_per_omr as {{ dbt.type_numeric() }})
        end as invoice_amount_omr,
        cast(renamed.customs_value_omr / {{ var('omr_per_usd') }} as {{ dbt.type_numeric() }}) as customs_value_usd,
        case when renamed.net_mass_kg > 0
            then cast(renamed.customs_value_omr / renamed.net_mass_kg as {{ dbt.type_numeric() }})
        end as unit_value_omr_kg,
        case when renamed.net_mass_kg > 0
            then cast(renamed.customs_value_omr / {{ var('omr_per_usd') }} / renamed.net_mass_kg as {{ dbt.type_numeric() }})
        end as unit_value_usd_kg
    from renamed
    left join countries as origin on renamed.origin_iso2 = origin.iso2
    left join countries as partner on renamed.partner_iso2 = partner.iso2
    left join rates
        on renamed.invoice_currency = rates.currency
        and renamed.lodged_date >= rates.valid_from
        and (renamed.lodged_date < rates.valid_to or rates.valid_to is null)
)

select * from enriched
