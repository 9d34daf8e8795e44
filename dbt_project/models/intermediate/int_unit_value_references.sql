{#-
  Unit-value references (OMR per kg) from the declarations themselves: for each flow and month, the
  quantiles of comparable items lodged in the `reference_months` months before (no look-ahead), at
  three levels: HS6 x origin, HS6 (all origins), HS4. Items found irregular on inspection are left
  out. A reference is a risk indicator, never a customs value (WCO guidance; docs/revenue-at-risk.md).

  Built in `reference_months` batches of target months (month index modulo 12), one statement each:
  within a batch the trailing windows of successive targets tile the timeline, so every value is held
  once, and peak memory stays at one pass over the population whatever the number of months (the
  single-statement list window held each value 12 times: out of memory at 10M items under 2 GB).
  The first batch is the model's own query, the others are inserted by post-hooks; unit tests set
  `unit_value_batches: false` to get every batch from the query itself.
-#}
{% set months = var('risk')['reference_months'] %}
{% set batched = var('unit_value_batches', true) %}
{% set batches = [] %}
{% if batched %}
    {% for residue in range(1, months) %}
        {% do batches.append('insert into {{ this }} {{ unit_value_references([' ~ residue ~ ']) }}') %}
    {% endfor %}
{% endif %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_refresh_month_index('month_index') }}",
    post_hook=batches,
) }}

{{ unit_value_references([0] if batched else range(months) | list) }}
