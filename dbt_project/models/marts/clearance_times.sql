{#-
  Time from lodgement to release, by month x office x risk channel x transport mode: the trade
  facilitation side of the same data. Counted per declaration; declarations not yet released are
  counted apart (declarations - released) and left out of the percentiles.
-#}
{{ config(on_schema_change='fail', **window_incremental('period_month', grain='month')) }}

with

declarations as (
    select
        declaration_id,
        min(lodged_at) as lodged_at,
        max(released_at) as released_at,
        min(office_code) as office_code,
        min(coalesce(risk_channel, 'unassigned')) as risk_channel,
        min(coalesce(transport_mode, 'unknown')) as transport_mode
    from {{ ref('stg_declaration_items') }}
    where {{ in_refresh_window('lodged_date', grain='month') }}
    group by declaration_id
),

timed as (
    select
        *,
        cast({{ dbt.date_trunc('month', 'lodged_at') }} as date) as period_month,
        case when released_at is not null
            then cast({{ minutes_between('lodged_at', 'released_at') }} as double) / 60 end as hours
    from declarations
)

select
    period_month,
    cast(office_code as {{ dbt.type_string() }}) as office_code,
    cast(risk_channel as {{ dbt.type_string() }}) as risk_channel,
    cast(transport_mode as {{ dbt.type_string() }}) as transport_mode,
    cast(count(*) as integer) as declarations,
    cast(count(released_at) as integer) as released,
    cast(count(*) - count(released_at) as integer) as not_released,
    cast({{ percentile_cont('hours', 0.5) }} as {{ dbt.type_numeric() }}) as median_hours,
    cast({{ percentile_cont('hours', 0.9) }} as {{ dbt.type_numeric() }}) as p90_hours
from timed
group by period_month, office_code, risk_channel, transport_mode
