{#- Comtrade names HS vintages H0 (1992) to H6 (2022); the concordance names them by year. -#}
with

source as (
    select * from {{ source('raw', 'hs_concordance') }}
),

vintages as (
    select
        code_after,
        code_before,
        relationship,
        adjustment,
        substring(adjustment, 1, 4) as year_after,
        substring(adjustment, 9, 4) as year_before
    from source
),

renamed as (
    select
        code_after as hs6_after,
        code_before as hs6_before,
        relationship,
        {{ hs_vintage('year_after') }} as vintage_after,
        {{ hs_vintage('year_before') }} as vintage_before
    from vintages
)

select * from renamed
