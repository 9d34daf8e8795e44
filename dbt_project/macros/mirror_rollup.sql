{#- mirror_gaps summed to a coarser grain; ratios recomputed from the sums, never averaged. -#}
{% macro mirror_rollup(grain) -%}
with

gaps as (
    select * from {{ ref('mirror_gaps') }}
),

summed as (
    select
        {{ grain | join(', ') }},
        sum(national_value_usd) as national_value_usd,
        sum(mirror_value_usd) as mirror_value_usd,
        sum(mirror_value_adjusted_usd) as mirror_value_adjusted_usd,
        sum(mirror_reexport_value_usd) as mirror_reexport_value_usd,
        sum(national_net_mass_kg) as national_net_mass_kg,
        sum(mirror_net_mass_kg) as mirror_net_mass_kg,
        count(*) as hs6_rows,
        sum(case when is_flagged then 1 else 0 end) as flagged_rows,
        sum(case when is_flagged then gap_usd else 0 end) as flagged_gap_usd
    from gaps
    group by {{ grain | join(', ') }}
)

select
    {{ grain | join(', ') }},
    cast(national_value_usd as {{ dbt.type_numeric() }}) as national_value_usd,
    cast(mirror_value_usd as {{ dbt.type_numeric() }}) as mirror_value_usd,
    cast(mirror_value_adjusted_usd as {{ dbt.type_numeric() }}) as mirror_value_adjusted_usd,
    cast(mirror_reexport_value_usd as {{ dbt.type_numeric() }}) as mirror_reexport_value_usd,
    cast(national_value_usd - mirror_value_adjusted_usd as {{ dbt.type_numeric() }}) as gap_usd,
    cast({{ gap_pct('national_value_usd', 'mirror_value_adjusted_usd') }} as {{ dbt.type_numeric() }}) as gap_pct,
    cast({{ symmetric_discrepancy('national_value_usd', 'mirror_value_adjusted_usd') }} as {{ dbt.type_numeric() }})
        as symmetric_discrepancy,
    cast(national_net_mass_kg as {{ dbt.type_numeric() }}) as national_net_mass_kg,
    cast(mirror_net_mass_kg as {{ dbt.type_numeric() }}) as mirror_net_mass_kg,
    cast(hs6_rows as integer) as hs6_rows,
    cast(flagged_rows as integer) as flagged_rows,
    cast(flagged_gap_usd as {{ dbt.type_numeric() }}) as flagged_gap_usd
from summed
{%- endmacro %}
