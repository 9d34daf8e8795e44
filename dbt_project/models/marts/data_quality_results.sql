{#- Quality history for BI: one row per rule per validation run, read live from the history that the
    Dagster asset quality/rule_results records after every check of a run. run_status says whether the
    run was recorded whole (complete) or its results were found later, the run having been killed or
    stopped (incomplete). The history is not a dbt source: it is written after this view is built, so
    the view creates it when missing (same layout as orchestration/quality/results.py). -#}
{#- `string` is a text type on both engines (Spark's varchar needs a length); times are naive UTC -#}
{{ config(
    materialized='view',
    pre_hook=[
        "create schema if not exists quality",
        "create table if not exists quality.rule_results (run_id string, validated_at " ~ type_timestamp_naive() ~ ",
            table_name string, suite string, rule string, expectation string, dimension string,
            severity string, passed boolean, unexpected_count bigint, checked_count bigint, observed string)",
        "create table if not exists quality.validation_runs (run_id string,
            started_at " ~ type_timestamp_naive() ~ ", finished_at " ~ type_timestamp_naive() ~ ", status string, recorded_by string)",
    ]
) }}
{%- set history = api.Relation.create(database=this.database, schema='quality', identifier='rule_results') %}
{%- set runs = api.Relation.create(database=this.database, schema='quality', identifier='validation_runs') %}

select
    cast(results.run_id as {{ dbt.type_string() }}) as run_id,
    cast(results.validated_at as {{ type_timestamp_naive() }}) as validated_at,
    cast(results.table_name as {{ dbt.type_string() }}) as table_name,
    cast(results.suite as {{ dbt.type_string() }}) as suite,
    cast(results.rule as {{ dbt.type_string() }}) as rule,
    cast(results.expectation as {{ dbt.type_string() }}) as expectation,
    cast(results.dimension as {{ dbt.type_string() }}) as dimension,
    cast(results.severity as {{ dbt.type_string() }}) as severity,
    results.passed,
    cast(results.unexpected_count as {{ dbt.type_bigint() }}) as unexpected_count,
    cast(results.checked_count as {{ dbt.type_bigint() }}) as checked_count,
    cast(results.observed as {{ dbt.type_string() }}) as observed,
    cast(runs.status as {{ dbt.type_string() }}) as run_status
from {{ history }} as results
left join {{ runs }} as runs on runs.run_id = results.run_id
