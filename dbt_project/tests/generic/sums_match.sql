{#-
  Totals that must agree across two models: sum(`columns`) of the model (rows in `where`) equals
  sum(`to_columns`, default the same) of `to` (rows in `to_where`), per `group_by` (null-safe; [] for
  grand totals). `tolerance` is an SQL expression that may use `model_rows` and `to_rows`, the rows of
  each side in the group (e.g. half a baisa per rounded row: 0.0005 * model_rows). A failing row names the group, the
  column and both totals.
-#}
{% test sums_match(model, to, columns, to_columns=none, group_by=[], where=none, to_where=none, tolerance='0') %}
{%- set to_columns = to_columns or columns -%}
with

model_totals as (
    select
        {% for g in group_by %}{{ g }}, {% endfor %}
        count(*) as model_rows,
        {% for c in columns %}sum({{ c }}) as total_{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ model }}
    {% if where %}where {{ where }}{% endif %}
    {% if group_by %}group by {{ group_by | join(', ') }}{% endif %}
),

to_totals as (
    select
        {% for g in group_by %}{{ g }}, {% endfor %}
        count(*) as to_rows,
        {% for c in to_columns %}sum({{ c }}) as total_{{ loop.index }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ to }}
    {% if to_where %}where {{ to_where }}{% endif %}
    {% if group_by %}group by {{ group_by | join(', ') }}{% endif %}
),

compared as (
    select
        {% for g in group_by %}coalesce(model_totals.{{ g }}, to_totals.{{ g }}) as {{ g }}, {% endfor %}
        coalesce(model_totals.model_rows, 0) as model_rows,
        coalesce(to_totals.to_rows, 0) as to_rows,
        {% for c in columns %}
        coalesce(model_totals.total_{{ loop.index }}, 0) as model_total_{{ loop.index }},
        coalesce(to_totals.total_{{ loop.index }}, 0) as to_total_{{ loop.index }}{% if not loop.last %},{% endif %}
        {% endfor %}
    from model_totals
    full outer join to_totals
        on {% for g in group_by %}model_totals.{{ g }} is not distinct from to_totals.{{ g }} and {% endfor %}true
)

{% for c in columns %}
select
    {% for g in group_by %}{{ g }}, {% endfor %}
    '{{ c | replace("'", "''") }}' as compared_column,
    model_total_{{ loop.index }} as model_total,
    to_total_{{ loop.index }} as to_total
from compared
where abs(model_total_{{ loop.index }} - to_total_{{ loop.index }}) > {{ tolerance }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% endtest %}
