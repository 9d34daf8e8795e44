with

source as (
    select * from {{ source('raw', 'hs_nomenclature') }}
),

renamed as (
    select
        hscode as hs_code,
        level as hs_level,
        description,
        nullif(parent, 'TOTAL') as parent_code,
        section
    from source
)

select * from renamed
