{#-
  The learned risk model's features, one row per declaration item, strictly out of time: every profile
  of an item is computed from the items and inspection outcomes of the months *before* its lodgement
  month, never from its own month (so never from its own label). A profile is, for the item's trader,
  declarant, seller, HS6, HS6 x origin, origin, partner, office, transport mode and route: the items
  seen before, the inspections before, and the share of them with an irregular outcome shrunk towards
  the overall share of the same earlier months (`risk.hit_rate_prior_weight` inspections' worth).
  Beside them: the declared figures, the valuation against the trailing reference, the duty rate,
  the rule signals, and the item's own outcome (the label, for training and evaluation only).
  `hs6_mass_pair_seen` says whether an earlier month had an item of the same HS6 and net mass: the
  KCS synthetic data repeats such pairs with the same label, so results are reported for unseen pairs too.
  A table, rebuilt whole: an outcome recorded late changes the profiles of every later month.
-#}
{%- set profiles = [
    ('trader', 'trader_key'),
    ('declarant', 'declarant_key'),
    ('seller', 'seller_key'),
    ('hs6', 'hs6'),
    ('hs6_origin', dbt.concat(['hs6', "'|'", "coalesce(origin_iso3, '?')"])),
    ('origin', 'origin_iso3'),
    ('partner', 'partner_iso3'),
    ('office', 'office_code'),
    ('transport', 'transport_mode'),
    ('route', dbt.concat(["coalesce(origin_iso3, '?')", "'>'", "coalesce(partner_iso3, '?')"])),
] -%}

with

signals as (
    select
        declaration_id, item_no, valuation_ratio, duty_rate, reference_items,
        signal_valuation, signal_misclassification, signal_origin, signal_origin_mirror, signal_assessment
    from {{ ref('int_declaration_signals') }}
),

items as (
    select
        declared.declaration_id,
        declared.item_no,
        declared.flow,
        declared.lodged_date,
        cast({{ dbt.date_trunc('month', 'declared.lodged_date') }} as date) as period_month,
        {{ month_index('declared.lodged_date') }} as month_index,
        declared.customs_value_omr,
        declared.net_mass_kg,
        declared.unit_value_omr_kg,
        declared.supplementary_qty,
        case when declared.customs_value_omr > 0
            then cast(declared.duty_omr as double) / declared.customs_value_omr end as declared_duty_share,
        signals.valuation_ratio,
        signals.duty_rate,
        signals.reference_items,
        case when signals.signal_valuation then 1 else 0 end as signal_valuation,
        case when signals.signal_misclassification then 1 else 0 end as signal_misclassification,
        case when signals.signal_origin then 1 else 0 end as signal_origin,
        case when signals.signal_origin_mirror then 1 else 0 end as signal_origin_mirror,
        case when signals.signal_assessment then 1 else 0 end as signal_assessment,
        case when declared.inspection_outcome is not null then 1 else 0 end as is_inspected,
        case when {{ is_irregular_outcome('declared.inspection_outcome') }} then 1 else 0 end as is_irregular,
        declared.hs6,
        {% for name, expression in profiles %}
        cast({{ expression }} as {{ dbt.type_string() }}) as {{ name }}_value{{ ',' if not loop.last }}
        {% endfor %}
    from {{ ref('int_declaration_items') }} as declared
    inner join signals
        on signals.declaration_id = declared.declaration_id and signals.item_no = declared.item_no
),

monthly as (
    select month_index, sum(is_inspected) as inspected, sum(is_irregular) as irregular
    from items
    group by month_index
),

-- the overall irregular share of all months before each month: what every profile is shrunk towards
base as (
    select
        month_index,
        coalesce(cast(sum(irregular) over earlier as double) / nullif(sum(inspected) over earlier, 0), 0) as base_rate,
        coalesce(sum(inspected) over earlier, 0) as prior_inspections
    from monthly
    window earlier as (order by month_index rows between unbounded preceding and 1 preceding)
),

{% for name, _ in profiles %}
{{ name }}_prior as (
    select
        value,
        month_index,
        sum(items) over earlier as prior_items,
        sum(inspected) over earlier as prior_inspected,
        sum(irregular) over earlier as prior_irregular
    from (
        select {{ name }}_value as value, month_index, count(*) as items, sum(is_inspected) as inspected,
               sum(is_irregular) as irregular
        from items
        where {{ name }}_value is not null
        group by {{ name }}_value, month_index
    ) as by_month
    window earlier as (partition by value order by month_index rows between unbounded preceding and 1 preceding)
),
{% endfor %}

pairs as (
    select
        hs6, net_mass_kg, month_index,
        min(month_index) over (partition by hs6, net_mass_kg) as first_month_index
    from (select distinct hs6, net_mass_kg, month_index from items) as pair_months
)

select
    items.declaration_id,
    items.item_no,
    items.flow,
    items.lodged_date,
    items.period_month,
    items.month_index,
    items.is_inspected,
    items.is_irregular,
    coalesce(pairs.first_month_index < items.month_index, false) as hs6_mass_pair_seen,
    base.base_rate as prior_base_rate,
    base.prior_inspections,
    items.customs_value_omr,
    items.net_mass_kg,
    items.unit_value_omr_kg,
    items.supplementary_qty,
    items.declared_duty_share,
    items.valuation_ratio,
    items.duty_rate,
    items.reference_items,
    items.signal_valuation,
    items.signal_misclassification,
    items.signal_origin,
    items.signal_origin_mirror,
    items.signal_assessment,
    {% for name, _ in profiles %}
    coalesce({{ name }}_prior.prior_items, 0) as {{ name }}_prior_items,
    coalesce({{ name }}_prior.prior_inspected, 0) as {{ name }}_prior_inspections,
    {{ shrunk_rate(name ~ '_prior.prior_irregular', name ~ '_prior.prior_inspected', 'base.base_rate') }}
        as {{ name }}_irregular_share{{ ',' if not loop.last }}
    {% endfor %}
from items
inner join base on base.month_index = items.month_index
left join pairs
    on pairs.hs6 = items.hs6 and pairs.net_mass_kg = items.net_mass_kg and pairs.month_index = items.month_index
{% for name, _ in profiles %}
left join {{ name }}_prior
    on {{ name }}_prior.value = items.{{ name }}_value and {{ name }}_prior.month_index = items.month_index
{% endfor %}
