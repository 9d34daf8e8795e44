{#- National against mirror: the gap in % of the mirror (null without a mirror value). -#}
{% macro gap_pct(national, mirror) -%}
    case when {{ mirror }} > 0 then 100 * ({{ national }} - {{ mirror }}) / {{ mirror }} end
{%- endmacro %}

{#- |N - M| / (N + M), in [0, 1]: symmetric in the two sides (null when both are zero). -#}
{% macro symmetric_discrepancy(national, mirror) -%}
    case when {{ national }} + {{ mirror }} > 0
        then abs({{ national }} - {{ mirror }}) / ({{ national }} + {{ mirror }})
    end
{%- endmacro %}
