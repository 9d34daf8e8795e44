{#-
  Engine differences of the intelligence models (ipr, network), dispatched per adapter: DuckDB keeps
  its own SQL (default__), Spark gets its equivalent (spark__), so both build the same rows.
-#}

{#-
  The FROM-clause fragment that turns each `separator`-separated piece of `expression` into a row
  `alias.column`, placed right after the relation it reads (an empty or null list gives no row).
  `separator` is one plain character (Spark's split takes a regular expression: it is bracketed).
-#}
{% macro split_to_rows(expression, separator, alias, column) -%}
    {%- if separator | length != 1 -%}
        {{ exceptions.raise_compiler_error("split_to_rows: one separator character, got '" ~ separator ~ "'") }}
    {%- endif -%}
    {{ return(adapter.dispatch('split_to_rows')(expression, separator, alias, column)) }}
{%- endmacro %}

{% macro default__split_to_rows(expression, separator, alias, column) -%}
    cross join unnest(string_split({{ expression }}, '{{ separator }}')) as {{ alias }} ({{ column }})
{%- endmacro %}

{% macro spark__split_to_rows(expression, separator, alias, column) -%}
    lateral view explode(split({{ expression }}, '[{{ separator }}]')) {{ alias }} as {{ column }}
{%- endmacro %}

{#-
  `measure` of a group's rows joined by `delimiter_text` in the order of the `order_by` expressions
  (ascending; null measures skipped). dbt.listagg ignores the order on Spark: there the values are
  collected with their sort keys, sorted, then joined.
-#}
{% macro ordered_listagg(measure, delimiter_text, order_by) -%}
    {{ return(adapter.dispatch('ordered_listagg')(measure, delimiter_text, order_by)) }}
{%- endmacro %}

{% macro default__ordered_listagg(measure, delimiter_text, order_by) -%}
    {{ dbt.listagg(measure, delimiter_text, "order by " ~ order_by | join(', ')) }}
{%- endmacro %}

{% macro spark__ordered_listagg(measure, delimiter_text, order_by) -%}
    array_join(transform(sort_array(collect_list(case when ({{ measure }}) is not null then named_struct(
        {%- for key in order_by %}'k{{ loop.index }}', {{ key }}, {% endfor %}'value', {{ measure }}) end)),
        entry -> entry.value), {{ delimiter_text }})
{%- endmacro %}

{#- The date `days` days after `date_expression` (before, when negative), as a date on every engine. -#}
{% macro add_days(date_expression, days) -%}
    {{ return(adapter.dispatch('add_days')(date_expression, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expression, days) -%}
    {{ dbt.dateadd('day', days, date_expression) }}
{%- endmacro %}

{% macro spark__add_days(date_expression, days) -%}
    date_add({{ date_expression }}, {{ days }})
{%- endmacro %}
