{#- Quality history for BI: one row per rule per validation run, read live from the checks' log. -#}
{{ config(materialized='view') }}

select
    cast(run_id as {{ dbt.type_string() }}) as run_id,
    cast(validated_at as {{ dbt.type_timestamp() }}) as validated_at,
    cast(table_name as {{ dbt.type_string() }}) as table_name,
    cast(suite as {{ dbt.type_string() }}) as suite,
    cast(rule as {{ dbt.type_string() }}) as rule,
    cast(expectation as {{ dbt.type_string() }}) as expectation,
    cast(dimension as {{ dbt.type_string() }}) as dimension,
    cast(severity as {{ dbt.type_string() }}) as severity,
    passed,
    cast(unexpected_count as {{ dbt.type_bigint() }}) as unexpected_count,
    cast(checked_count as {{ dbt.type_bigint() }}) as checked_count,
    cast(observed as {{ dbt.type_string() }}) as observed
from {{ source('quality', 'rule_results') }}
