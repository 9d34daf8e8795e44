{#-
  One row per declaration item: the rules' view of it (int_declaration_rules: unit value against the
  reference, money at risk per signal to the baisa, one boolean per signal, rules_score, risk_reasons)
  with the learned model's out-of-time probability (models/risk_scores), the contributions behind it,
  the one risk_score that combines them (macro combined_risk_score) and each lodgement day's
  selections. Traders and declarants appear only as pseudonymous keys. See docs/revenue-at-risk.md and
  docs/risk-model.md.
-#}
{% set selection_rate = var('risk')['model']['selection_rate'] %}
{% set exploration = var('risk')['model']['exploration_share'] %}
{#- the chance an item not selected on its score is drawn, so that draws are `exploration` of all selections -#}
{% set draw_below = selection_rate * exploration / (1 - selection_rate * (1 - exploration)) %}
{{ config(on_schema_change='fail', **window_incremental('period_month', grain='month')) }}

with

rules as (
    select * from {{ ref('int_declaration_rules') }}
    where {{ in_refresh_window('period_month', grain='month') }}
),

modelled as (
    select
        rules.*,
        scores.fraud_probability,
        scores.model_version,
        scores.model_explanation,
        scores.model_top_features,
        scores.exploration_draw,
        {{ combined_risk_score('scores.fraud_probability', 'rules.rules_score', 'scores.rules_weight') }}
            as combined_score
    from rules
    left join {{ source('models', 'risk_scores') }} as scores
        on scores.declaration_id = rules.declaration_id and scores.item_no = rules.item_no
),

-- each lodgement day's selection: the top `selection_rate` x (1 - `exploration_share`) of its items by
-- risk_score (never an item without any risk), and at random (the item's exploration draw) the
-- exploration share of the selections
ranked as (
    select
        modelled.*,
        row_number() over (
            partition by lodged_date order by combined_score desc, declaration_id, item_no) as day_position,
        count(*) over (partition by lodged_date) as day_items
    from modelled
)

select
    ranked.declaration_id,
    ranked.declaration_ref,
    ranked.item_no,
    ranked.flow,
    ranked.lodged_date,
    ranked.period_month,
    ranked.trader_key,
    ranked.declarant_key,
    ranked.office_code,
    ranked.hs6,
    ranked.hs4,
    ranked.hs2,
    ranked.origin_iso3,
    ranked.partner_iso3,
    ranked.transport_mode,
    ranked.customs_value_omr,
    ranked.net_mass_kg,
    ranked.unit_value_omr_kg,
    ranked.reference_unit_value_omr_kg,
    ranked.reference_low_omr_kg,
    ranked.reference_high_omr_kg,
    ranked.reference_level,
    ranked.reference_items,
    ranked.valuation_ratio,
    ranked.undervaluation_omr,
    ranked.duty_rate,
    ranked.vat_rate,
    ranked.suggested_hs6,
    ranked.valuation_duty_at_risk_omr,
    ranked.valuation_vat_at_risk_omr,
    ranked.misclassification_duty_at_risk_omr,
    ranked.misclassification_vat_at_risk_omr,
    ranked.origin_duty_at_risk_omr,
    ranked.origin_vat_at_risk_omr,
    ranked.assessment_duty_omr,
    ranked.assessment_vat_omr,
    ranked.duty_at_risk_omr,
    ranked.vat_at_risk_omr,
    ranked.total_at_risk_omr,
    ranked.rules_score,
    cast(round(ranked.combined_score, 2) as decimal(5, 2)) as risk_score,
    cast(ranked.fraud_probability as double) as fraud_probability,
    cast(round(ranked.fraud_probability * ranked.total_at_risk_omr, 3) as decimal(18, 3)) as expected_revenue_omr,
    cast(ranked.model_version as {{ dbt.type_string() }}) as model_version,
    cast(ranked.model_explanation as {{ dbt.type_string() }}) as model_explanation,
    cast(ranked.model_top_features as {{ dbt.type_string() }}) as model_top_features,
    cast(case
        when ranked.combined_score > 0
            and ranked.day_position <= {{ selection_rate * (1 - exploration) }} * ranked.day_items then 'risk'
        when ranked.exploration_draw < {{ draw_below }} then 'exploration'
    end as {{ dbt.type_string() }}) as selection_reason,
    ranked.signal_valuation,
    ranked.signal_misclassification,
    ranked.signal_origin,
    ranked.signal_origin_mirror,
    ranked.signal_assessment,
    ranked.signal_trader_history,
    ranked.signal_declarant_history,
    ranked.risk_reasons,
    ranked.trader_prior_hit_rate,
    ranked.declarant_prior_hit_rate,
    ranked.risk_channel,
    ranked.inspection_outcome
from ranked
