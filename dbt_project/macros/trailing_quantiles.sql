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
    where t.month_index % {{ months }} in ({{ residues | join(', ') }})
    group by {% for k in keys %}t.{{ k }}, {% endfor %}t.month_index
{%- endmacro %}

{% macro duckdb__trailing_quantiles(population, targets, keys, months, residues) -%}
    {%- for r in residues %}
    select
        {% for k in keys %}t.{{ k }}, {% endfor %}
        t.month_index,
        s.n,
        s.q[1] as p10, s.q[2] as p25, s.q[3] as p50, s.q[4] as p75, s.q[5] as p90
    from {{ targets }} as t
    inner join (
        select {{ keys | join(', ') }}, target_month, count(*) as n,
               quantile_cont(value, [0.10, 0.25, 0.50, 0.75, 0.90]) as q
        from (
            -- the one target month of residue {{ r }} whose trailing window holds this value
            select {{ keys | join(', ') }}, value,
                   month_index + 1 + ((({{ r }} - month_index - 1) % {{ months }}) + {{ months }}) % {{ months }}
                       as target_month
            from {{ population }}
        ) as assigned
        group by {{ keys | join(', ') }}, target_month
    ) as s
        on {% for k in keys %}s.{{ k }} = t.{{ k }} and {% endfor %}s.target_month = t.month_index
    where t.month_index % {{ months }} = {{ r }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
