{#- The names of the rules that hold, joined by ';' (null when none): explanations an analyst can read. -#}
{% macro flag_list(rules) -%}
    {%- set parts = [] -%}
    {%- for name, condition in rules -%}
        {%- do parts.append("case when " ~ condition ~ " then '" ~ name ~ ";' else '' end") -%}
    {%- endfor -%}
    nullif({{ dbt.concat(parts) }}, '')
{%- endmacro %}

{#- `text` without its last character (the trailing separator left by flag_list). -#}
{% macro drop_last_char(text) -%}
    substring({{ text }}, 1, {{ dbt.length(text) }} - 1)
{%- endmacro %}
