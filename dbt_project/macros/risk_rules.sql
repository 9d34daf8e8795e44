{#- An inspection outcome that counts as a hit (var `risk.irregular_outcomes`): true or false, never null. -#}
{% macro is_irregular_outcome(outcome) -%}
    coalesce({{ outcome }} in ({{ quoted_list(var('risk')['irregular_outcomes']) }}), false)
{%- endmacro %}

{#-
  A hit rate shrunk towards `base_rate` by `risk.hit_rate_prior_weight` inspections' worth of it, so
  that one lucky inspection does not make a party or route look certain: (hits + w x base) / (n + w).
-#}
{% macro shrunk_rate(hits, inspected, base_rate) -%}
    {%- set weight = var('risk')['hit_rate_prior_weight'] -%}
    (coalesce({{ hits }}, 0) + {{ weight }} * {{ base_rate }}) / (coalesce({{ inspected }}, 0) + {{ weight }})
{%- endmacro %}
