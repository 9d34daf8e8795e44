with

source as (
    select * from {{ source('raw', 'countries') }}
),

renamed as (
    select
        iso2,
        iso3,
        m49,
        comtrade_code,
        name as country_name,
        region,
        is_gcc,
        currency
    from source
)

select * from renamed
