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

{#-
  A party's compliance-history signal from its row of party_history (`alias`): it needs evidence, not a
  ratio of zeros: `risk.history_min_inspections` prior inspections, `risk.history_min_hits` hits among
  them, a positive overall rate, and a shrunk rate at least `ratio` times that rate.
-#}
{% macro history_signal(alias, ratio) -%}
    {%- set r = var('risk') -%}
    coalesce(
        {{ alias }}.prior_inspected >= {{ r['history_min_inspections'] }}
        and {{ alias }}.prior_hits >= {{ r['history_min_hits'] }}
        and {{ alias }}.base_rate > 0
        and {{ alias }}.prior_hit_rate >= {{ ratio }} * {{ alias }}.base_rate, false)
{%- endmacro %}

{#-
  Declared tax short of the assessed amount by more than `risk.assessment_tolerance_baisa` (1,000 baisa
  to the rial): the shortfall, else 0 (also when nothing was declared).
-#}
{% macro tax_shortfall(declared, assessed) -%}
    {%- set shortfall = 'cast(' ~ assessed ~ ' as decimal(18, 3)) - cast(' ~ declared ~ ' as decimal(18, 3))' %}
    case when {{ declared }} is not null
        and {{ shortfall }} > {{ var('risk')['assessment_tolerance_baisa'] }} / 1000.0
        then {{ shortfall }} else 0 end
{%- endmacro %}
