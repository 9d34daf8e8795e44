{#-
  SQL the engines write differently, one macro each (adapter.dispatch): `default__` is DuckDB's,
  `spark__` Spark's. Models call these instead of engine-only syntax, so one SQL builds on both.
-#}

{#-
  Several statements as one hook: DuckDB runs them in one call; Spark takes one statement a call, so
  all but the last run here (when executing) and the last is the hook's own SQL.
-#}
{% macro run_statements(statements) -%}
    {{ return(adapter.dispatch('run_statements')(statements)) }}
{%- endmacro %}

{% macro default__run_statements(statements) -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}

{% macro spark__run_statements(statements) -%}
    {%- if execute -%}
        {%- for statement in statements[:-1] -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(statements[-1]) }}
{%- endmacro %}

{#- The values of a group joined by `separator` in ascending order (an aggregate), whatever the engine's
    row order: Spark's listagg cannot order, so it sorts the collected list. -#}
{% macro sorted_string_agg(expression, separator) -%}
    {{ return(adapter.dispatch('sorted_string_agg')(expression, separator)) }}
{%- endmacro %}

{% macro default__sorted_string_agg(expression, separator) -%}
    {{ dbt.listagg(expression, separator, "order by " ~ expression) }}
{%- endmacro %}

{% macro spark__sorted_string_agg(expression, separator) -%}
    array_join(array_sort(collect_list({{ expression }})), {{ separator }})
{%- endmacro %}

{#- Whole minutes from `start` to `end` as DuckDB counts them: minute boundaries crossed (dbt-spark's
    datediff rounds the seconds up instead). -#}
{% macro minutes_between(start, end) -%}
    {{ return(adapter.dispatch('minutes_between')(start, end)) }}
{%- endmacro %}

{% macro default__minutes_between(start, end) -%}
    {{ dbt.datediff(start, end, 'minute') }}
{%- endmacro %}

{% macro spark__minutes_between(start, end) -%}
    (floor(unix_timestamp({{ end }}) / 60) - floor(unix_timestamp({{ start }}) / 60))
{%- endmacro %}

{#- A timestamp without time zone (wall-clock time as written), DuckDB's `timestamp`: Spark's
    `timestamp` is an instant shown in the session time zone, its naive one is `timestamp_ntz`. -#}
{% macro type_timestamp_naive() -%}
    {{ return(adapter.dispatch('type_timestamp_naive')()) }}
{%- endmacro %}

{% macro default__type_timestamp_naive() -%}
    {{ return(dbt.type_timestamp()) }}
{%- endmacro %}

{% macro spark__type_timestamp_naive() -%}
    {{ return('timestamp_ntz') }}
{%- endmacro %}
