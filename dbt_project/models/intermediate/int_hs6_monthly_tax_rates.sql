{#- MFN duty and VAT rates of each HS6 seen in the data, on the first day of each month of the data. -#}
with

subheadings as (
    select distinct hs6 from {{ ref('stg_declaration_items') }}
    union
    select distinct hs6 from {{ ref('int_mirror_pairs') }}
),

months as (
    select distinct {{ dbt.date_trunc('month', 'lodged_date') }} as month_start
    from {{ ref('stg_declaration_items') }}
),

tariff as (
    select * from {{ ref('stg_tariff_schedule') }}
    where prefix_length <= 6
),

matched as (
    select
        subheadings.hs6,
        months.month_start,
        tariff.tax_type,
        tariff.rate,
        row_number() over (
            partition by subheadings.hs6, months.month_start, tariff.tax_type
            order by tariff.prefix_length desc, tariff.valid_from desc
        ) as preference
    from subheadings
    cross join months
    inner join tariff
        on subheadings.hs6 like {{ dbt.concat(['tariff.hs_prefix', "'%'"]) }}
        and cast(months.month_start as date) >= tariff.valid_from
        and (tariff.valid_to is null or cast(months.month_start as date) <= tariff.valid_to)
)

select
    hs6,
    cast(month_start as date) as month_start,
    coalesce(max(case when tax_type = 'duty' then rate end), 0) as mfn_duty_rate,
    coalesce(max(case when tax_type = 'vat' then rate end), 0) as vat_rate
from matched
where preference = 1
group by hs6, cast(month_start as date)
