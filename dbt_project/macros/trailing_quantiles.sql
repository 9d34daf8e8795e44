{#-
  Quantiles of `value` per `keys` over the `months` months before each target month (no look-ahead):
  n, p10, p25, p50, p75, p90 for every (keys, month_index) in `targets` whose month index modulo
  `months` is in `residues` (all of range(months) gives every target).

  `population` has columns keys + month_index + value; `targets` has keys + month_index.
  Default (any engine): a range self-join with percentile_cont; it holds each value once per target
  that sees it. DuckDB: for one residue r, the trailing windows of the targets r, r + months, ... tile
  the timeline, so each value belongs to exactly one of them: a plain GROUP BY on that target month
  with an exact quantile_cont, every value held once. Same results (tests/trailing_quantiles_...).
-#}
{% macro trailing_quantiles(population, targets, keys, months, residues) -%}
    {{ return(adapter.dispatch('trailing_quantiles')(population, targets, keys, months, residues)) }}
{%- endmacro %}

{% macro default__trailing_quantiles(population, targets, keys, months, residues) -%}
    select
        {% for k in keys %}targets.{{ k }}, {% endfor %}
        targets.month_index,
        count(population.value) as n,
        {{ percentile_cont('population.value', 0.10) }} as p10,
        {{ percentile_cont('population.value', 0.25) }} as p25,
        {{ percentile_cont('population.value', 0.50) }} as p50,
        {{ percentile_cont('population.value', 0.75) }} as p75,
        {{ percentile_cont('population.value', 0.90) }} as p90
    from {{ targets }} as targets
    inner join {{ population }} as population
        on {% for k in keys %}population.{{ k }} = targets.{{ k }} and {% endfor %}
        population.month_index between targets.month_index - {{ months }} and targets.month_index - 1
    where targets.month_index % {{ months }} in ({{ residues | join(', ') }})
    group by {% for k in keys %}targets.{{ k }}, {% endfor %}targets.month_index
{%- endmacro %}

{% macro duckdb__trailing_quantiles(population, targets, keys, months, residues) -%}
    {%- for r in residues %}
    select
        {% for k in keys %}targets.{{ k }}, {% endfor %}
        targets.month_index,
        quantiles.n,
        quantiles.q[1] as p10, quantiles.q[2] as p25, quantiles.q[3] as p50, quantiles.q[4] as p75, quantiles.q[5] as p90
    from {{ targets }} as targets
    inner join (
        select {{ keys | join(', ') }}, target_month, count(*) as n,
               quantile_cont(value, [0.10, 0.25, 0.50, 0.75, 0.90]) as q
        from ({{ residue_assignment(population, keys, months, r) }}) as assigned
        group by {{ keys | join(', ') }}, target_month
    ) as quantiles
        on {% for k in keys %}quantiles.{{ k }} = targets.{{ k }} and {% endfor %}quantiles.target_month = targets.month_index
    where targets.month_index % {{ months }} = {{ r }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Each value of the population with the one target month of residue `r` whose trailing window holds
    it: the tiling both engines' trailing_quantiles aggregate over. -#}
{% macro residue_assignment(population, keys, months, r) -%}
    select {{ keys | join(', ') }}, value,
           month_index + 1 + ((({{ r }} - month_index - 1) % {{ months }}) + {{ months }}) % {{ months }} as target_month
    from {{ population }}
{%- endmacro %}
