{#-
  The body of int_unit_value_references for the reference `levels` (hs6_origin, hs6, hs4) and the
  target months whose index modulo `reference_months` is in `residues` (see that model for why it is
  built in batches).
-#}
{% macro unit_value_references(residues, levels) -%}
{%- set months = var('risk')['reference_months'] -%}
with

-- incremental: targets from the first changed month on, the months before it as their history
items as (
    select * from (
        select
            flow, hs6, hs4, origin_iso3, unit_value_omr_kg, inspection_outcome,
            {{ month_index('lodged_date') }} as month_index
        from {{ ref('int_declaration_items') }}
    ) as all_items
    where {{ in_refresh_month_index('month_index', lookback=months) }}
),

population as (
    select * from items
    where unit_value_omr_kg > 0
      and not {{ is_irregular_outcome('inspection_outcome') }}
),

months as (
    select distinct month_index from items where {{ in_refresh_month_index('month_index') }}
),

pop_hs6_origin as (
    select flow, hs6, origin_iso3, month_index, cast(unit_value_omr_kg as double) as value from population
),

targets_hs6_origin as (
    select distinct flow, hs6, origin_iso3, month_index from items
    where origin_iso3 is not null and {{ in_refresh_month_index('month_index') }}
),

pop_hs6 as (
    select flow, hs6, month_index, cast(unit_value_omr_kg as double) as value from population
),

-- every subheading in every month, so that other subheadings of a heading can be compared too
targets_hs6 as (
    select codes.flow, codes.hs6, months.month_index
    from (select distinct flow, hs6 from items) as codes
    cross join months
),

pop_hs4 as (
    select flow, hs4, month_index, cast(unit_value_omr_kg as double) as value from population
),

targets_hs4 as (
    select distinct flow, hs4, month_index from items where {{ in_refresh_month_index('month_index') }}
),

hs6_origin as (
    {{ trailing_quantiles('pop_hs6_origin', 'targets_hs6_origin', ['flow', 'hs6', 'origin_iso3'], months, residues) }}
),

hs6 as (
    {{ trailing_quantiles('pop_hs6', 'targets_hs6', ['flow', 'hs6'], months, residues) }}
),

hs4 as (
    {{ trailing_quantiles('pop_hs4', 'targets_hs4', ['flow', 'hs4'], months, residues) }}
)

{%- set selects = {
    'hs6_origin': "select 'hs6_origin' as reference_level, flow, hs6 as code, origin_iso3, month_index, n, p10, p25, p50, p75, p90 from hs6_origin",
    'hs6': "select 'hs6' as reference_level, flow, hs6 as code, cast(null as " ~ dbt.type_string() ~ ") as origin_iso3, month_index, n, p10, p25, p50, p75, p90 from hs6",
    'hs4': "select 'hs4' as reference_level, flow, hs4 as code, cast(null as " ~ dbt.type_string() ~ ") as origin_iso3, month_index, n, p10, p25, p50, p75, p90 from hs4",
} %}
{% for level in levels %}
{{ selects[level] }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- endmacro %}

{#-
  One post-hook batch of int_unit_value_references (`query`) into its table. DuckDB appends: the
  window was deleted before the model ran. `first_of_months` is the batch of a residue whose months
  hold all the others' (engines that cannot delete overwrite those months with it).
-#}
{% macro unit_value_batch_insert(query, first_of_months) -%}
    {{ return(adapter.dispatch('unit_value_batch_insert')(query, first_of_months)) }}
{%- endmacro %}

{% macro default__unit_value_batch_insert(query, first_of_months) -%}
    insert into {{ this }} {{ query }}
{%- endmacro %}
