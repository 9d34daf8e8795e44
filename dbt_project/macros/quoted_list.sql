{#- Jinja list of strings as a SQL list of literals: 'a', 'b'. -#}
{% macro quoted_list(values) -%}
    {%- for value in values %}'{{ value }}'{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}
