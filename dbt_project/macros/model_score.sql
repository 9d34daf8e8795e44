{#-
  risk_score: the learned model and the rules in one number (0-100). Where the model scored the item,
  100 x (1 - (1 - p) x (1 - w x rules_score / 100)): the chance that the model's finding or the rules'
  is real, as if independent, with the rules' score read as a probability discounted by w. The weight
  w is learned with each model version (orchestration/selectivity/training.py `rules_weight`): the
  value of `risk.model.rules_weights` that selected best on the months before the item's month, so
  that rules which outcomes contradict count for little and rules they bear out keep their say.
  Without a model score: the rules' score.
-#}
{% macro combined_risk_score(probability, rules_score, weight) -%}
    case when {{ probability }} is null then {{ rules_score }}
        else 100 * (1 - (1 - {{ probability }}) * (1 - {{ weight }} * {{ rules_score }} / 100)) end
{%- endmacro %}
