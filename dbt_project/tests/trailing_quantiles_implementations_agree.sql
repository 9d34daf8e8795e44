{#-
  The DuckDB formulation of trailing_quantiles (one GROUP BY per residue of the target month) must give
  exactly what the portable self-join gives: any row in one and not the other fails this test.
  Attached to the model that uses the macro, so Dagster reports it as that model's check:
-#}
-- depends_on: {{ ref('int_unit_value_references') }}
{% if target.type == 'duckdb' %}
with

numbers as (
    select range as i from range(3000)
),

population as (
    select
        case when hash(i * 7 + 2) % 2 = 0 then 'M' else 'X' end as flow,
        'code' || cast(hash(i * 3 + 1) % 4 as varchar) as code,
        24240 + cast(hash(i) % 30 as integer) as month_index,
        cast(hash(i * 5 + 3) % 10007 as double) / 7 as value
    from numbers
),

targets as (
    select distinct flow, code, month_index + 1 as month_index from population
),

portable as (
    {{ default__trailing_quantiles('population', 'targets', ['flow', 'code'], 12, range(12) | list) }}
),

grouped as (
    {{ duckdb__trailing_quantiles('population', 'targets', ['flow', 'code'], 12, range(12) | list) }}
),

portable_rounded as (
    select flow, code, month_index, n,
        round(p10, 9) as p10, round(p25, 9) as p25, round(p50, 9) as p50, round(p75, 9) as p75, round(p90, 9) as p90
    from portable
),

grouped_rounded as (
    select flow, code, month_index, n,
        round(p10, 9) as p10, round(p25, 9) as p25, round(p50, 9) as p50, round(p75, 9) as p75, round(p90, 9) as p90
    from grouped
)

(
    select 'only_portable' as side, * from portable_rounded
    except
    select 'only_portable' as side, * from grouped_rounded
)
union all
(
    select 'only_grouped' as side, * from grouped_rounded
    except
    select 'only_grouped' as side, * from portable_rounded
)
{% else %}
select 1 as nothing where 1 = 0
{% endif %}
