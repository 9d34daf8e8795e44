{#-
  Declaration items as loaded, renamed and typed: the lodgement date and HS6/HS4/HS2 read off the
  national tariff line. Countries, rates and values derived from them are added in
  int_declaration_items. Incremental: rebuilt from the earliest changed lodgement day (on Spark from
  the first of its month, the table's partition; macros/refresh_window.sql).
-#}
{{ config(**window_incremental('lodged_date', partition_by='lodged_month')) }}

with

source as (
    select * from {{ source('raw', 'declaration_items') }}
    where {{ in_refresh_window('cast(lodged_at as date)') }}
),

renamed as (
    select
        declaration_id,
        declaration_ref,
        item_no,
        flow,
        lodged_at,
        cast(lodged_at as date) as lodged_date,
        cast({{ dbt.date_trunc('month', 'cast(lodged_at as date)') }} as date) as lodged_month,
        released_at,
        office_code,
        procedure_code,
        declarant_key,
        trader_key,
        seller_key,
        address_key,
        phone_key,
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
        finding_type,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source
)

select * from renamed
