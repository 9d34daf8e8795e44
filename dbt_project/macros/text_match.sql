{#-
  Text reduced for matching brand names (ipr models): lower case, accents stripped, '$' read as s and
  '@' as a, every run of other characters one space.
-#}
{% macro normalise_text(expression) -%}
    trim(regexp_replace(
        replace(replace(lower(strip_accents({{ expression }})), '$', 's'), '@', 'a'), '[^a-z0-9]+', ' ', 'g'
    ))
{%- endmacro %}

{#- A word that mixes letters and digits read as fakers write letters (N1KE, ad1da5): 0 o, 1 i, 3 e, 4 a, 5 s, 7 t. -#}
{% macro unleet(word) -%}
    case when regexp_matches({{ word }}, '[a-z]') and regexp_matches({{ word }}, '[0-9]')
        then translate({{ word }}, '013457', 'oieast') else {{ word }} end
{%- endmacro %}
