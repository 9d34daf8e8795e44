with

source as (
    select * from {{ source('raw', 'tariff_schedule') }}
),

renamed as (
    select
        tax_type,
        coalesce(hs_prefix, '') as hs_prefix,
        {{ dbt.length("coalesce(hs_prefix, '')") }} as prefix_length,
        rate,
        specific_omr,
        specific_unit,
        valid_from,
        valid_to,
        description
    from source
)

select * from renamed
