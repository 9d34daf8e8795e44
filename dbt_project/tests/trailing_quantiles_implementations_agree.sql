{#-
  The engine's own formulation of trailing_quantiles (the one adapter.dispatch picks: duckdb__ on DuckDB,
  spark__ on Spark, one GROUP BY per residue of the target month) must give what the portable self-join
  (default__) gives on a generated population: every row returned is a target and what differs.
  Quantiles may differ by `tolerance` (relative): Spark's percentile() rounds twice, so a quarter of the
  targets differ there in the last bit (2e-16), which rounding both to 9 decimals could split across a
  rounding boundary; a wrong formulation misses by far more.
  Attached to the model that uses the macro, so Dagster reports it as that model's check:
-#}
-- depends_on: {{ ref('int_unit_value_references') }}
{%- set tolerance = '1e-12' -%}
{%- set quantiles = ['p10', 'p25', 'p50', 'p75', 'p90'] %}
with

numbers as (
    {{ test_numbers(3000) }}
),

hashed as (
    select
        {{ portable_hash('i * 7 + 2') }} % 2 as h_flow,
        {{ portable_hash('i * 3 + 1') }} % 100 as h_code,
        {{ portable_hash('i') }} % 30 as h_month,
        {{ portable_hash('i * 5 + 3') }} % 10007 as h_value
    from numbers
),

-- 30 months, two flows: 'common' holds half the rows (hundreds in a window), 'middling' a quarter with
-- no items in 4 of the months, 'tied' a quarter with only five distinct values (ties at every quantile)
bulk as (
    select
        case when h_flow = 0 then 'M' else 'X' end as flow,
        case when h_code < 50 then 'common' when h_code < 75 then 'middling' else 'tied' end as code,
        24240 + h_month as month_index,
        case when h_code < 75 then cast(h_value as double) / 7 else cast(h_value % 5 as double) end as value
    from hashed
    where not (h_code >= 50 and h_code < 75 and h_month % 7 = 3)
),

-- one item in each of the months 0, 1, 4, 9, 16 and 25: gaps of up to 8 months, windows of 1 to 4 items
sparse as (
    select
        'M' as flow,
        'sparse' as code,
        24240 + i * i as month_index,
        cast(i as double) / 3 as value
    from numbers
    where i < 6
),

population as (
    select flow, code, month_index, value from bulk
    union all
    select flow, code, month_index, value from sparse
),

-- every group in every month from 2 before the first to 14 after the last: windows with no items (no
-- row on either side), shorter than the window, and running past the population's end
targets as (
    select
        codes.flow,
        codes.code,
        24238 + months.i as month_index
    from (select distinct flow, code from population) as codes
    cross join (select i from numbers where i < 46) as months
),

portable as (
    {{ default__trailing_quantiles('population', 'targets', ['flow', 'code'], 12, range(12) | list) }}
),

engine as (
    {{ trailing_quantiles('population', 'targets', ['flow', 'code'], 12, range(12) | list) }}
),

compared as (
    select
        coalesce(portable.flow, engine.flow) as flow,
        coalesce(portable.code, engine.code) as code,
        coalesce(portable.month_index, engine.month_index) as month_index,
        case
            when engine.month_index is null then 'only in the portable formulation'
            when portable.month_index is null then 'only in the engine formulation'
            when portable.n != engine.n then 'n differs'
            {%- for p in quantiles %}
            when not coalesce(abs(portable.{{ p }} - engine.{{ p }}) <= {{ tolerance }} * greatest(1, abs(portable.{{ p }})), false)
                then '{{ p }} differs by more than {{ tolerance }} relative'
            {%- endfor %}
        end as problem,
        portable.n as portable_n,
        engine.n as engine_n,
        {%- for p in quantiles %}
        portable.{{ p }} as portable_{{ p }},
        engine.{{ p }} as engine_{{ p }}{{ ',' if not loop.last }}
        {%- endfor %}
    from portable
    full outer join engine
        on portable.flow = engine.flow and portable.code = engine.code and portable.month_index = engine.month_index
)

select * from compared where problem is not null
