with

source as (
    select * from {{ source('raw', 'partner_trade') }}
),

renamed as (
    select
        typeCode as type_code,
        freqCode as freq_code,
        period,
        {{ dbt.safe_cast("substring(period, 1, 4)", api.Column.translate_type("integer")) }} as year,
        case when {{ dbt.length("period") }} = 6
            then {{ dbt.safe_cast("substring(period, 5, 2)", api.Column.translate_type("integer")) }}
        end as month,
        reporterCode as reporter_code,
        reporterISO as reporter_iso3,
        flowCode as flow_code,
        partnerCode as partner_code,
        partnerISO as partner_iso3,
        partner2Code as partner2_code,
        classificationCode as classification_code,
        cmdCode as cmd_code,
        case when {{ dbt.length("cmdCode") }} = 6 then cmdCode end as hs6,
        customsCode as customs_code,
        motCode as mot_code,
        qtyUnitCode as qty_unit_code,
        qty,
        netWgt as net_mass_kg,
        cifvalue as cif_value_usd,
        fobvalue as fob_value_usd,
        primaryValue as primary_value_usd,
        isReported as is_reported,
        isAggregate as is_aggregate,
        source_format,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source
)

select * from renamed
