{#-
  Incremental rebuilds by window. Dagster passes `refresh_from`, the earliest day any load changed
  since the last successful build (raw.load_changes); an incremental model deletes its rows from that
  day (or month) on and rebuilds them, so the result equals a full rebuild while touching only the
  window. Without `refresh_from` an incremental run changes nothing; `--full-refresh` rebuilds all.
-#}

{% macro in_refresh_window(expression, grain='day') -%}
    {%- set start = var('refresh_from', none) -%}
    {%- if not is_incremental() -%}
        true
    {%- elif start is none -%}
        false
    {%- elif grain == 'month' -%}
        {{ expression }} >= cast({{ dbt.date_trunc('month', "cast('" ~ start ~ "' as date)") }} as date)
    {%- else -%}
        {{ expression }} >= cast('{{ start }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- The same window on a month index (year * 12 + month), shifted back by `lookback` months. -#}
{% macro in_refresh_month_index(expression, lookback=0) -%}
    {%- set start = var('refresh_from', none) -%}
    {%- if not is_incremental() -%}
        true
    {%- elif start is none -%}
        false
    {%- else -%}
        {%- set parts = start.split('-') -%}
        {{ expression }} >= {{ parts[0] | int * 12 + parts[1] | int - lookback }}
    {%- endif -%}
{%- endmacro %}

{#- pre_hook of a windowed incremental model: delete the window before it is rebuilt. -#}
{% macro delete_refresh_window(expression, grain='day') -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_refresh_window(expression, grain) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro delete_refresh_month_index(expression) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_refresh_month_index(expression) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
