with

source as (
    select * from {{ source('raw', 'cif_fob_margins') }}
),

renamed as (
    select
        partner_iso3,
        hs_chapter,
        margin,
        -- most specific rule wins: partner and chapter (3), chapter (2), partner (1), default (0)
        (case when hs_chapter is not null then 2 else 0 end)
        + (case when partner_iso3 is not null then 1 else 0 end) as specificity,
        note
    from source
)

select * from renamed
