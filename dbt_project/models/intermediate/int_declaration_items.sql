{#-
  Declaration items enriched for analysis: ISO alpha-3 origin and partner with their GCC membership,
  the invoice converted to rials at the rate in force on the lodgement date, the customs value in USD
  at the peg and unit values per kg. Read by both the mirror and the risk models.
  Incremental: rebuilt from the earliest changed lodgement day (macros/refresh_window.sql).
-#}
{{ config(**window_incremental('lodged_date', partition_by='lodged_month')) }}

with

items as (
    select * from {{ ref('stg_declaration_items') }}
    where {{ in_refresh_window('lodged_date') }}
),

countries as (
    select * from {{ ref('stg_countries') }}
),

rates as (
    select * from {{ ref('stg_exchange_rates') }}
),

enriched as (
    select
        items.*,
        origin.iso3 as origin_iso3,
        partner.iso3 as partner_iso3,
        coalesce(origin.is_gcc, false) as origin_is_gcc,
        coalesce(partner.is_gcc, false) as partner_is_gcc,
        case
            when items.invoice_currency = 'OMR' then items.invoice_amount
            else cast(items.invoice_amount / rates.units_per_omr as {{ dbt.type_numeric() }})
        end as invoice_amount_omr,
        cast(items.customs_value_omr / {{ var('omr_per_usd') }} as {{ dbt.type_numeric() }}) as customs_value_usd,
        case when items.net_mass_kg > 0
            then cast(items.customs_value_omr / items.net_mass_kg as {{ dbt.type_numeric() }})
        end as unit_value_omr_kg,
        case when items.net_mass_kg > 0
            then cast(
                items.customs_value_omr / {{ var('omr_per_usd') }} / items.net_mass_kg as {{ dbt.type_numeric() }}
            )
        end as unit_value_usd_kg
    from items
    left join countries as origin on items.origin_iso2 = origin.iso2
    left join countries as partner on items.partner_iso2 = partner.iso2
    left join rates
        on items.invoice_currency = rates.currency
        and items.lodged_date >= rates.valid_from
        and (items.lodged_date < rates.valid_to or rates.valid_to is null)
)

select * from enriched
