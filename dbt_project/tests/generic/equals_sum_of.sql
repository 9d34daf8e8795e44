{#- Row by row, the column equals the sum of `parts` (columns or expressions): money that adds up. -#}
{% test equals_sum_of(model, column_name, parts) %}
select {{ column_name }}, {{ parts | join(', ') }}
from {{ model }}
where {{ column_name }} is distinct from {{ parts | join(' + ') }}
{% endtest %}
