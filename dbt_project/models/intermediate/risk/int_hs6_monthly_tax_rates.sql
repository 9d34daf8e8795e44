{#- MFN duty and VAT rates of each HS6 seen in the data, on the first day of each month of the data. -#}
with

subheadings as (
    select distinct hs6 from {{ ref('int_declaration_items') }}
    union
    select distinct hs6 from {{ ref('int_mirror_pairs') }}
),

months as (
    select distinct cast({{ dbt.date_trunc('month', 'lodged_date') }} as date) as month_start
    from {{ ref('int_declaration_items') }}
),

lines as (
    select subheadings.hs6, months.month_start
    from subheadings
    cross join months
),

rates as (
    {{ tariff_rates('lines', 'hs6', 'month_start', max_prefix_length=6) }}
)

select
    hs6,
    month_start,
    coalesce(mfn_duty_rate, 0) as mfn_duty_rate,
    coalesce(scheduled_vat_rate, 0) as vat_rate
from rates
