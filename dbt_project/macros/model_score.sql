{#-
  risk_score: the learned model and the rules in one number (0-100). Where the model scored the item,
  100 x (1 - (1 - p) x (1 - w x rules_score / 100)), w = `risk.model.rules_weight`: the chance that
  the model's finding or the rules' is real, as if independent, with the rules' score read as a
  probability discounted by w (the model already learns from the rule signals; the rules still lift
  what no outcome has taught it yet, such as a new scheme). Without a model score: the rules' score.
-#}
{% macro combined_risk_score(probability, rules_score) -%}
    {%- set weight = var('risk')['model']['rules_weight'] -%}
    case when {{ probability }} is null then {{ rules_score }}
        else 100 * (1 - (1 - {{ probability }}) * (1 - {{ weight }} * {{ rules_score }} / 100)) end
{%- endmacro %}
