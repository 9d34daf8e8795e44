{#- Money at risk per month and method, side by side: the methods overlap, so never add them up. -#}
select
    period_month,
    method,
    cast(sum(value_gap_omr) as decimal(18, 3)) as value_gap_omr,
    cast(sum(duty_at_risk_omr) as decimal(18, 3)) as duty_at_risk_omr,
    cast(sum(vat_at_risk_omr) as decimal(18, 3)) as vat_at_risk_omr,
    cast(sum(total_at_risk_omr) as decimal(18, 3)) as total_at_risk_omr,
    cast(sum(items) as integer) as items
from {{ ref('revenue_at_risk') }}
group by period_month, method
