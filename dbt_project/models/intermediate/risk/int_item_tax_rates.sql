{#-
  The duty and VAT rates that apply to each declaration item on its lodgement date: the tariff line
  with the longest matching HS prefix valid that day, then the reliefs: goods of GCC origin claiming
  the GCC preference pay no duty, and a procedure may relieve duty or VAT (seed `procedure_codes`).
  Exports pay neither. Rates are looked up once per tariff line and day, not per item.
-#}
{{ config(**window_incremental('lodged_date', partition_by='lodged_month')) }}

with

items as (
    select declaration_id, item_no, flow, hs_code, lodged_date, lodged_month, origin_is_gcc, preference_code, procedure_code
    from {{ ref('int_declaration_items') }}
    where {{ in_refresh_window('lodged_date') }}
),

procedures as (
    select * from {{ ref('procedure_codes') }}
),

lines as (
    select distinct hs_code, lodged_date from items
),

rates as (
    {{ tariff_rates('lines', 'hs_code', 'lodged_date') }}
),

reliefs as (
    select
        items.*,
        coalesce(rates.mfn_duty_rate, 0) as mfn_duty_rate,
        coalesce(rates.scheduled_vat_rate, 0) as scheduled_vat_rate,
        coalesce(items.preference_code = '{{ var("risk")["gcc_preference_code"] }}' and items.origin_is_gcc, false) as has_gcc_preference,
        coalesce(procedures.duty_exempt, false) as procedure_duty_exempt,
        coalesce(procedures.vat_exempt, false) as procedure_vat_exempt
    from items
    left join rates on rates.hs_code = items.hs_code and rates.lodged_date = items.lodged_date
    left join procedures on procedures.procedure_code = items.procedure_code
)

select
    declaration_id,
    item_no,
    lodged_date,
    lodged_month,
    mfn_duty_rate,
    has_gcc_preference,
    procedure_duty_exempt,
    procedure_vat_exempt,
    case when flow = 'X' or has_gcc_preference or procedure_duty_exempt then 0 else mfn_duty_rate end as duty_rate,
    case when flow = 'X' or procedure_vat_exempt then 0 else scheduled_vat_rate end as vat_rate
from reliefs
