{#- Spark versions of the risk models' engine-specific SQL (the DuckDB ones beside their macros). -#}

{#-
  Spark: the same tiling as duckdb__trailing_quantiles (each value assigned to the one target month
  of the residue whose window holds it), with Spark's exact `percentile(value, array(...))`: linear
  interpolation between the closest ranks, as quantile_cont; its array is 0-based.
-#}
{% macro spark__trailing_quantiles(population, targets, keys, months, residues) -%}
    {%- for r in residues %}
    select
        {% for k in keys %}targets.{{ k }}, {% endfor %}
        targets.month_index,
        quantiles.n,
        quantiles.q[0] as p10, quantiles.q[1] as p25, quantiles.q[2] as p50, quantiles.q[3] as p75, quantiles.q[4] as p90
    from {{ targets }} as targets
    inner join (
        select {{ keys | join(', ') }}, target_month, count(*) as n,
               percentile(value, array(0.10, 0.25, 0.50, 0.75, 0.90)) as q
        from (
            select {{ keys | join(', ') }}, value,
                   month_index + 1 + ((({{ r }} - month_index - 1) % {{ months }}) + {{ months }}) % {{ months }}
                       as target_month
            from {{ population }}
        ) as assigned
        group by {{ keys | join(', ') }}, target_month
    ) as quantiles
        on {% for k in keys %}quantiles.{{ k }} = targets.{{ k }} and {% endfor %}quantiles.target_month = targets.month_index
    where targets.month_index % {{ months }} = {{ r }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{% macro spark__percentile_cont(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}

{#-
  Spark: one batch of int_unit_value_references into its table, by column name (the partition
  column month_index is stored last). `first_of_months`: the batch holding every month the others
  hold, which overwrites those months' partitions (Parquet cannot delete the window first).
-#}
{% macro spark__unit_value_batch_insert(query, first_of_months) -%}
    insert {{ 'overwrite' if first_of_months else 'into' }} table {{ this }} by name {{ query }}
{%- endmacro %}
