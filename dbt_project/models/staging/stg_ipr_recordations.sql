{#- The rights-holder register as loaded (a reference snapshot), renamed for the models that read it. -#}
with

source as (
    select * from {{ source('raw', 'ipr_recordations') }}
),

renamed as (
    select
        recordation_id,
        right_holder,
        brand,
        brand_variants,
        hs_scope,
        authorised_trader_keys,
        authorised_origins,
        authorised_partner_countries,
        price_floor_omr,
        price_floor_basis,
        valid_from,
        valid_to,
        contact,
        _source_file as source_file,
        _loaded_at as loaded_at
    from source
)

select * from renamed
