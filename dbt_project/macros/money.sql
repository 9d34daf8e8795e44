{#- Money to the baisa (three decimals), the precision of every amount at risk. -#}
{% macro to_baisa(amount) -%}
    round({{ amount }}, 3)
{%- endmacro %}

{#- VAT on a value gap and the duty on it: VAT is levied on the duty-paid value. -#}
{% macro vat_at_risk(value_gap, duty, vat_rate) -%}
    {{ to_baisa('(' ~ value_gap ~ ' + ' ~ duty ~ ') * ' ~ vat_rate) }}
{%- endmacro %}

{#- Month number on one scale across years (year x 12 + month), for trailing windows. -#}
{% macro month_index(date) -%}
    cast(extract(year from {{ date }}) * 12 + extract(month from {{ date }}) as integer)
{%- endmacro %}
