{#- Each published rate holds until the next publication, so every date maps to one rate (as-of rule). -#}
with

source as (
    select * from {{ source('raw', 'exchange_rates') }}
),

renamed as (
    select
        currency,
        rate_date as valid_from,
        lead(rate_date) over (partition by currency order by rate_date) as valid_to,
        units_per_omr
    from source
)

select * from renamed
