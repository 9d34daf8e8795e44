{#-
  The rules' view of every declaration item: its unit value against the reference, the money each risk
  signal puts at risk (duty and VAT to the baisa), one boolean per signal, the rules score and the
  reasons behind it. Traders and declarants appear only as pseudonymous keys. See docs/revenue-at-risk.md.
  declaration_risk adds the learned model's score to it; the model's training reads rules_score here.
  An item without an item-level signal scores its history points up to `no_signal_max_points`, which
  must stay under the lowest points an item-level signal gives (checked when the model compiles).
-#}
{% set threshold = var('risk')['valuation_ratio_threshold'] %}
{% set points = var('risk')['score'] %}
{% set lowest_signal_points = [
    points['valuation_base_points'], points['misclassification_points'], points['origin_points'],
    points['origin_mirror_points'], points['assessment_points']] | min %}
{% if points['no_signal_max_points'] >= lowest_signal_points %}
    {{ exceptions.raise_compiler_error("risk.score.no_signal_max_points must be under the lowest item-level signal points") }}
{% endif %}
{{ config(on_schema_change='fail', **window_incremental('period_month', grain='month')) }}

with

signals as (
    select * from {{ ref('int_declaration_signals') }}
    where {{ in_refresh_window('lodged_date', grain='month') }}
),

taxed as (
    select
        signals.*,
        {{ vat_at_risk('undervaluation_omr', 'valuation_duty_omr', 'vat_rate') }} as valuation_vat_omr,
        {{ vat_at_risk('0', 'misclassification_duty_omr', 'vat_rate') }} as misclassification_vat_omr,
        {{ vat_at_risk('0', 'origin_duty_omr', 'vat_rate') }} as origin_vat_omr,
        signal_valuation or signal_misclassification or signal_origin or signal_origin_mirror
            or signal_assessment as has_signal,
        {{ points['trader_hit_rate_points'] }} * coalesce(trader_prior_hit_rate, 0)
            + {{ points['declarant_hit_rate_points'] }} * coalesce(declarant_prior_hit_rate, 0) as history_points
    from signals
),

totalled as (
    select
        taxed.*,
        valuation_duty_omr + misclassification_duty_omr + origin_duty_omr + assessment_duty_omr as duty_at_risk_omr,
        valuation_vat_omr + misclassification_vat_omr + origin_vat_omr + assessment_vat_omr as vat_at_risk_omr,
        valuation_duty_omr + misclassification_duty_omr + origin_duty_omr + assessment_duty_omr
            + valuation_vat_omr + misclassification_vat_omr + origin_vat_omr + assessment_vat_omr
            as total_at_risk_omr
    from taxed
),

scored as (
    select
        totalled.*,
        -- history adds to a signalled item's score; alone it never reaches the lowest signal's points
        case when not has_signal then least({{ points['no_signal_max_points'] }}, history_points) else
        least(100, history_points
            + (case when signal_valuation
                then {{ points['valuation_base_points'] }}
                    + {{ points['valuation_depth_points'] }} * (1 - valuation_ratio / {{ threshold }})
                else 0 end)
            + (case when signal_misclassification then {{ points['misclassification_points'] }} else 0 end)
            + (case when signal_origin then {{ points['origin_points'] }} else 0 end)
            + (case when signal_origin_mirror then {{ points['origin_mirror_points'] }} else 0 end)
            + (case when signal_assessment then {{ points['assessment_points'] }} else 0 end)
            -- money at risk, on an absolute scale so that an item's score never depends on other items:
            -- full points at `money_full_scale_omr`, half of them at its square root
            + {{ points['money_points'] }}
                * least(1, ln(1 + total_at_risk_omr) / ln(1 + {{ points['money_full_scale_omr'] }}))
        ) end as rules_score
    from totalled
)

select
    cast(scored.declaration_id as {{ dbt.type_string() }}) as declaration_id,
    cast(scored.declaration_ref as {{ dbt.type_string() }}) as declaration_ref,
    cast(scored.item_no as integer) as item_no,
    cast(scored.flow as {{ dbt.type_string() }}) as flow,
    cast(scored.lodged_date as date) as lodged_date,
    cast({{ dbt.date_trunc('month', 'scored.lodged_date') }} as date) as period_month,
    cast(scored.trader_key as {{ dbt.type_string() }}) as trader_key,
    cast(scored.declarant_key as {{ dbt.type_string() }}) as declarant_key,
    cast(scored.office_code as {{ dbt.type_string() }}) as office_code,
    cast(scored.hs6 as {{ dbt.type_string() }}) as hs6,
    cast(scored.hs4 as {{ dbt.type_string() }}) as hs4,
    cast(scored.hs2 as {{ dbt.type_string() }}) as hs2,
    cast(scored.origin_iso3 as {{ dbt.type_string() }}) as origin_iso3,
    cast(scored.partner_iso3 as {{ dbt.type_string() }}) as partner_iso3,
    cast(scored.transport_mode as {{ dbt.type_string() }}) as transport_mode,
    cast(scored.customs_value_omr as decimal(18, 3)) as customs_value_omr,
    cast(scored.net_mass_kg as decimal(18, 3)) as net_mass_kg,
    cast(scored.unit_value_omr_kg as {{ dbt.type_numeric() }}) as unit_value_omr_kg,
    cast(scored.reference_median as {{ dbt.type_numeric() }}) as reference_unit_value_omr_kg,
    cast(scored.reference_low as {{ dbt.type_numeric() }}) as reference_low_omr_kg,
    cast(scored.reference_high as {{ dbt.type_numeric() }}) as reference_high_omr_kg,
    cast(scored.reference_level as {{ dbt.type_string() }}) as reference_level,
    cast(scored.reference_items as integer) as reference_items,
    cast(scored.valuation_ratio as {{ dbt.type_numeric() }}) as valuation_ratio,
    cast(scored.undervaluation_omr as decimal(18, 3)) as undervaluation_omr,
    cast(scored.duty_rate as decimal(9, 6)) as duty_rate,
    cast(scored.vat_rate as decimal(9, 6)) as vat_rate,
    cast(scored.suggested_hs6 as {{ dbt.type_string() }}) as suggested_hs6,
    cast(scored.valuation_duty_omr as decimal(18, 3)) as valuation_duty_at_risk_omr,
    cast(scored.valuation_vat_omr as decimal(18, 3)) as valuation_vat_at_risk_omr,
    cast(scored.misclassification_duty_omr as decimal(18, 3)) as misclassification_duty_at_risk_omr,
    cast(scored.misclassification_vat_omr as decimal(18, 3)) as misclassification_vat_at_risk_omr,
    cast(scored.origin_duty_omr as decimal(18, 3)) as origin_duty_at_risk_omr,
    cast(scored.origin_vat_omr as decimal(18, 3)) as origin_vat_at_risk_omr,
    cast(scored.assessment_duty_omr as decimal(18, 3)) as assessment_duty_omr,
    cast(scored.assessment_vat_omr as decimal(18, 3)) as assessment_vat_omr,
    cast(scored.duty_at_risk_omr as decimal(18, 3)) as duty_at_risk_omr,
    cast(scored.vat_at_risk_omr as decimal(18, 3)) as vat_at_risk_omr,
    cast(scored.total_at_risk_omr as decimal(18, 3)) as total_at_risk_omr,
    cast(round(scored.rules_score, 2) as decimal(5, 2)) as rules_score,
    cast(scored.signal_valuation as boolean) as signal_valuation,
    cast(scored.signal_misclassification as boolean) as signal_misclassification,
    cast(scored.signal_origin as boolean) as signal_origin,
    cast(scored.signal_origin_mirror as boolean) as signal_origin_mirror,
    cast(scored.signal_assessment as boolean) as signal_assessment,
    cast(scored.signal_trader_history as boolean) as signal_trader_history,
    cast(scored.signal_declarant_history as boolean) as signal_declarant_history,
    cast({{ drop_last_char(flag_list([
        ('below_reference_range', 'scored.signal_valuation'),
        ('misclassification_suspected', 'scored.signal_misclassification'),
        ('gcc_origin_consigned_from_outside_gcc', 'scored.signal_origin'),
        ('gcc_origin_above_partner_exports', 'scored.signal_origin_mirror'),
        ('declared_tax_below_assessment', 'scored.signal_assessment'),
        ('trader_compliance_history', 'scored.signal_trader_history'),
        ('declarant_compliance_history', 'scored.signal_declarant_history'),
    ])) }} as {{ dbt.type_string() }}) as risk_reasons,
    cast(scored.trader_prior_hit_rate as {{ dbt.type_numeric() }}) as trader_prior_hit_rate,
    cast(scored.declarant_prior_hit_rate as {{ dbt.type_numeric() }}) as declarant_prior_hit_rate,
    cast(scored.risk_channel as {{ dbt.type_string() }}) as risk_channel,
    cast(scored.inspection_outcome as {{ dbt.type_string() }}) as inspection_outcome
from scored
