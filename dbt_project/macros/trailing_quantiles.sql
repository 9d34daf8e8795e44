{#-
  Quantiles of `value` per `keys` over the `months` months before each target month (no look-ahead):
  n, p10, p25, p50, p75, p90 for every (keys, month_index) in `targets`.

  `population` has columns keys + month_index + value; `targets` has keys + month_index.
  DuckDB: one row per key and month with the month's values as a list, a RANGE window collecting the
  preceding months' lists, quantiles computed on the flattened list (exact, and an order of magnitude
  faster than the self-join). Other engines: a range self-join with percentile_cont; same results.
-#}
{% macro trailing_quantiles(population, targets, keys, months) -%}
    {{ return(adapter.dispatch('trailing_quantiles')(population, targets, keys, months)) }}
{%- endmacro %}

{% macro default__trailing_quantiles(population, targets, keys, months) -%}
    select
        {% for k in keys %}t.{{ k }}, {% endfor %}
        t.month_index,
        count(p.value) as n,
        {{ percentile_cont('p.value', 0.10) }} as p10,
        {{ percentile_cont('p.value', 0.25) }} as p25,
        {{ percentile_cont('p.value', 0.50) }} as p50,
        {{ percentile_cont('p.value', 0.75) }} as p75,
        {{ percentile_cont('p.value', 0.90) }} as p90
    from {{ targets }} as t
    inner join {{ population }} as p
        on {% for k in keys %}p.{{ k }} = t.{{ k }} and {% endfor %}
        p.month_index between t.month_index - {{ months }} and t.month_index - 1
    group by {% for k in keys %}t.{{ k }}, {% endfor %}t.month_index
{%- endmacro %}

{% macro duckdb__trailing_quantiles(population, targets, keys, months) -%}
    with monthly as (
        select {{ keys | join(', ') }}, month_index, list(value) as month_values
        from {{ population }}
        group by {{ keys | join(', ') }}, month_index
    ),
    frames as (
        select {% for k in keys %}coalesce(t.{{ k }}, m.{{ k }}) as {{ k }}, {% endfor %}
               coalesce(t.month_index, m.month_index) as month_index,
               t.month_index is not null as is_target,
               coalesce(m.month_values, []) as month_values
        from {{ targets }} as t
        full outer join monthly as m
            on {% for k in keys %}m.{{ k }} = t.{{ k }} and {% endfor %}m.month_index = t.month_index
    ),
    windowed as (
        select *, flatten(list(month_values) over (
            partition by {{ keys | join(', ') }} order by month_index
            range between {{ months }} preceding and 1 preceding)) as trailing_values
        from frames
    )
    select
        {{ keys | join(', ') }},
        month_index,
        len(trailing_values) as n,
        list_aggregate(trailing_values, 'quantile_cont', 0.10) as p10,
        list_aggregate(trailing_values, 'quantile_cont', 0.25) as p25,
        list_aggregate(trailing_values, 'quantile_cont', 0.50) as p50,
        list_aggregate(trailing_values, 'quantile_cont', 0.75) as p75,
        list_aggregate(trailing_values, 'quantile_cont', 0.90) as p90
    from windowed
    where is_target and len(trailing_values) > 0
{%- endmacro %}
