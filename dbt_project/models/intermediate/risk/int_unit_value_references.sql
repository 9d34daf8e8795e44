{#-
  Unit-value references (OMR per kg) from the declarations themselves: for each flow and month, the
  quantiles of comparable items lodged in the `reference_months` months before (no look-ahead), at
  three levels: HS6 x origin, HS6 (all origins), HS4. Items found irregular on inspection are left
  out. A reference is a risk indicator, never a customs value (WCO guidance; docs/revenue-at-risk.md).

  Built in batches, one statement each: per reference level and per residue of the target month
  modulo `reference_months`. Within a residue the trailing windows of successive targets tile the
  timeline, so every value is held once, and peak memory stays at one level's pass over the
  population whatever the number of months (the single-statement list window held each value 12
  times: out of memory at 10M items under 2 GB; twelve batches of all three levels: at 50M). The first
  batch is the model's own query, the others are inserted by post-hooks; unit tests set
  `unit_value_batches: false` to get every batch from the query itself. HS6 comes first in each
  residue: its months hold every month the other levels have (Spark overwrites them; see
  unit_value_batch_insert).
-#}
{% set months = var('risk')['reference_months'] %}
{% set levels = ['hs6', 'hs6_origin', 'hs4'] %}
{% set batched = var('unit_value_batches', true) %}
{% set batches = [] %}
{% if batched %}
    {% for residue in range(months) %}
        {% for level in levels if residue > 0 or level != levels[0] %}
            {% do batches.append(
                '{{ unit_value_batch_insert(unit_value_references([' ~ residue ~ "], ['" ~ level ~ "']), "
                ~ 'first_of_months=' ~ (level == levels[0]) ~ ') }}'
            ) %}
        {% endfor %}
    {% endfor %}
{% endif %}
{{ config(post_hook=batches, **window_incremental('month_index', grain='month_index')) }}

{{ unit_value_references([0], levels[:1]) if batched else unit_value_references(range(months) | list, levels) }}
