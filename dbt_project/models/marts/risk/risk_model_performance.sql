{#-
  How well each version of the learned risk model selects, out of time, next to the rules alone, the
  combined risk_score and random selection: for every version x walk-forward month (and the months
  pooled, `scope = 'all_months'`, period_month null) x inspection rate, the precision and recall of
  the top items among those inspected, the money at risk caught and the AUC. `item_group`
  'new_hs6_mass_pair' repeats the figures for items whose (HS6, net mass) pair no earlier month had:
  synthetic data that repeats such pairs with one label rewards memorising them. Random selection is
  its expectation (precision = the base rate, recall = the inspection rate). Money caught is the duty
  and VAT at risk the rules put on the selected items found irregular (the contract has no recovered
  amount).
-#}
{% set rates = var('risk')['model']['inspection_rates'] %}

with

labelled as (
    select
        backtest.model_version, backtest.period_month, backtest.declaration_id, backtest.item_no,
        backtest.fraud_probability, backtest.rules_weight, features.is_irregular, features.hs6_mass_pair_seen,
        risk.rules_score, risk.total_at_risk_omr
    from {{ source('models', 'risk_backtest') }} as backtest
    inner join {{ ref('int_risk_features') }} as features
        on features.declaration_id = backtest.declaration_id and features.item_no = backtest.item_no
    inner join {{ ref('int_declaration_rules') }} as risk
        on risk.declaration_id = backtest.declaration_id and risk.item_no = backtest.item_no
    where features.is_inspected = 1
),

scored as (
    select labelled.*, 'model' as selection, fraud_probability as score from labelled
    union all
    select labelled.*, 'rules' as selection, rules_score as score from labelled
    union all
    select labelled.*, 'combined' as selection,
        {{ combined_risk_score('fraud_probability', 'rules_score', 'rules_weight') }} as score
    from labelled
),

-- each item counts in its month and in all months pooled; in all items and, if its pair is new, in new pairs
grouped as (
    select
        scored.model_version, scored.declaration_id, scored.item_no, scored.is_irregular,
        scored.total_at_risk_omr, scored.selection, scored.score, scopes.scope, item_groups.item_group,
        case when scopes.scope = 'month' then scored.period_month end as period_month
    from scored
    cross join (
        select 'month' as scope
        union all
        select 'all_months' as scope
    ) as scopes
    inner join (
        select 'all' as item_group
        union all
        select 'new_hs6_mass_pair' as item_group
    ) as item_groups
        on item_groups.item_group = 'all' or not scored.hs6_mass_pair_seen
),

ranked as (
    select
        grouped.*,
        row_number() over (
            partition by model_version, scope, period_month, item_group, selection
            order by score desc, declaration_id, item_no) as position,
        count(*) over cell as items,
        sum(is_irregular) over cell as irregular,
        sum(is_irregular * total_at_risk_omr) over cell as irregular_money,
        -- the rank among the cell's items from the lowest score, ties averaged (for the AUC)
        rank() over (partition by model_version, scope, period_month, item_group, selection order by score)
            + cast(count(*) over (partition by model_version, scope, period_month, item_group, selection, score) - 1
                as double) / 2 as score_rank
    from grouped
    window cell as (partition by model_version, scope, period_month, item_group, selection)
),

cells as (
    select
        model_version, scope, period_month, item_group, selection,
        max(items) as items,
        max(irregular) as irregular,
        max(irregular_money) as irregular_money,
        (sum(case when is_irregular = 1 then score_rank else 0 end) - max(irregular) * (max(irregular) + 1) / 2.0)
            / nullif(max(irregular) * (max(items) - max(irregular)), 0) as auc
    from ranked
    group by model_version, scope, period_month, item_group, selection
),

rates as (
    {% for rate in rates %}
    select cast({{ rate }} as double) as inspection_rate
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

selected as (
    select
        ranked.model_version, ranked.scope, ranked.period_month, ranked.item_group, ranked.selection,
        rates.inspection_rate,
        sum(case when ranked.position <= greatest(1, floor(rates.inspection_rate * ranked.items)) then 1 else 0 end)
            as items_selected,
        sum(case when ranked.position <= greatest(1, floor(rates.inspection_rate * ranked.items))
            then ranked.is_irregular else 0 end) as irregular_selected,
        sum(case when ranked.position <= greatest(1, floor(rates.inspection_rate * ranked.items))
            then ranked.is_irregular * ranked.total_at_risk_omr else 0 end) as revenue_caught_omr
    from ranked
    cross join rates
    group by ranked.model_version, ranked.scope, ranked.period_month, ranked.item_group, ranked.selection,
        rates.inspection_rate
),

measured as (
    select
        selected.*, cells.items, cells.irregular, cells.irregular_money, cells.auc
    from selected
    inner join cells
        on cells.model_version = selected.model_version and cells.scope = selected.scope
        and cells.period_month is not distinct from selected.period_month
        and cells.item_group = selected.item_group and cells.selection = selected.selection
),

with_random as (
    select
        model_version, scope, period_month, item_group, selection, inspection_rate, items, irregular,
        items_selected, cast(irregular_selected as double) / items_selected as precision_share,
        cast(irregular_selected as double) / nullif(irregular, 0) as recall_share,
        revenue_caught_omr, cast(revenue_caught_omr as double) / nullif(irregular_money, 0) as revenue_share, auc
    from measured
    union all
    select
        model_version, scope, period_month, item_group, 'random' as selection, inspection_rate, items, irregular,
        items_selected, cast(irregular as double) / items as precision_share,
        case when irregular > 0 then cast(items_selected as double) / items end as recall_share,
        cast(irregular_money * items_selected as double) / items as revenue_caught_omr,
        case when irregular_money > 0 then cast(items_selected as double) / items end as revenue_share,
        0.5 as auc
    from measured
    where selection = 'model'
)

select
    cast(model_version as {{ dbt.type_string() }}) as model_version,
    cast(scope as {{ dbt.type_string() }}) as scope,
    cast(period_month as date) as period_month,
    cast(item_group as {{ dbt.type_string() }}) as item_group,
    cast(selection as {{ dbt.type_string() }}) as selection,
    cast(inspection_rate as double) as inspection_rate,
    cast(items as integer) as items_inspected,
    cast(irregular as integer) as irregular_items,
    cast(items_selected as integer) as items_selected,
    cast(precision_share as double) as precision,
    cast(recall_share as double) as recall,
    cast(revenue_caught_omr as decimal(18, 3)) as revenue_caught_omr,
    cast(revenue_share as double) as revenue_share,
    cast(auc as double) as auc
from with_random
