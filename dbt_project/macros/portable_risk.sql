{#- Spark versions of the risk models' engine-specific SQL (the DuckDB ones beside their macros). -#}

{#-
  Spark: the same tiling as duckdb__trailing_quantiles (each value assigned to the one target month
  of the residue whose window holds it), the quantiles exact from each group's sorted values, and
  interpolated to the bit as DuckDB's quantile_cont: position (n - 1) x q, then between the ranks
  either side lo x (1 - d) + hi x d, which DuckDB's build evaluates as one fused multiply-add
  (rounded once). Spark has no fma: it is computed exactly with an error-free product (Veltkamp
  split) and sum. Spark's own percentile() rounds twice and differs in the last bit, which a cast to
  decimal(28, 6) can turn into a unit of the sixth decimal.
-#}
{% macro spark__trailing_quantiles(population, targets, keys, months, residues) -%}
    {%- set quantiles = [('p10', '0.10'), ('p25', '0.25'), ('p50', '0.50'), ('p75', '0.75'), ('p90', '0.90')] -%}
    {%- set split = 'cast(134217729 as double)' -%}
    {%- for r in residues %}
    select
        {% for k in keys %}{{ k }}, {% endfor %}month_index, n,
        {% for name, _ in quantiles -%}
        case when {{ name }}_d = 0 then {{ name }}_lo
            else {{ name }}_s + ((({{ name }}_p - ({{ name }}_s - ({{ name }}_s - {{ name }}_p)))
                + ({{ name }}_c - ({{ name }}_s - {{ name }}_p))) + {{ name }}_e) end as {{ name }}{{ ',' if not loop.last }}
        {% endfor %}
    from (
        select
            product.*,
            {% for name, _ in quantiles -%}
            {{ name }}_p + {{ name }}_c as {{ name }}_s,
            (({{ name }}_ah * {{ name }}_bh - {{ name }}_p) + {{ name }}_ah * ({{ name }}_b - {{ name }}_bh)
                + ({{ name }}_lo - {{ name }}_ah) * {{ name }}_bh)
                + ({{ name }}_lo - {{ name }}_ah) * ({{ name }}_b - {{ name }}_bh) as {{ name }}_e{{ ',' if not loop.last }}
            {% endfor %}
        from (
            select
                ranks.*,
                {% for name, _ in quantiles -%}
                1 - {{ name }}_d as {{ name }}_b,
                {{ name }}_lo * (1 - {{ name }}_d) as {{ name }}_p,
                {{ name }}_hi * {{ name }}_d as {{ name }}_c,
                {{ split }} * {{ name }}_lo - ({{ split }} * {{ name }}_lo - {{ name }}_lo) as {{ name }}_ah,
                {{ split }} * (1 - {{ name }}_d) - ({{ split }} * (1 - {{ name }}_d) - (1 - {{ name }}_d)) as {{ name }}_bh{{ ',' if not loop.last }}
                {% endfor %}
            from (
                select
                    {% for k in keys %}targets.{{ k }}, {% endfor %}targets.month_index, quantiles.n,
                    {% for name, q in quantiles -%}
                    {%- set position = '(cast(quantiles.n - 1 as double) * cast(' ~ q ~ ' as double))' -%}
                    quantiles.sorted_values[cast(floor({{ position }}) as int)] as {{ name }}_lo,
                    quantiles.sorted_values[cast(ceil({{ position }}) as int)] as {{ name }}_hi,
                    {{ position }} - floor({{ position }}) as {{ name }}_d{{ ',' if not loop.last }}
                    {% endfor %}
                from {{ targets }} as targets
                inner join (
                    select {{ keys | join(', ') }}, target_month, count(*) as n,
                           array_sort(collect_list(value)) as sorted_values
                    from ({{ residue_assignment(population, keys, months, r) }}) as assigned
                    group by {{ keys | join(', ') }}, target_month
                ) as quantiles
                    on {% for k in keys %}quantiles.{{ k }} = targets.{{ k }} and {% endfor %}quantiles.target_month = targets.month_index
                where targets.month_index % {{ months }} = {{ r }}
            ) as ranks
        ) as product
    ) as summed
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

