{#- The HS edition each partner reported in, per year (the one carrying most of its value). -#}
with

records as (
    select * from {{ ref('stg_partner_trade') }}
    where partner_code = {{ var('mirror')['home_comtrade_code'] }}
),

by_vintage as (
    select reporter_iso3, year, classification_code, sum(primary_value_usd) as value_usd
    from records
    group by reporter_iso3, year, classification_code
),

ranked as (
    select
        *,
        row_number() over (partition by reporter_iso3, year order by value_usd desc, classification_code desc) as rank_in_year
    from by_vintage
)

select reporter_iso3, year, classification_code as hs_vintage
from ranked
where rank_in_year = 1
