{#-
  Duty and VAT rates of the tariff for each (code, day) of `lines`: the line with the longest HS prefix
  of `code_column` that is valid on `date_column` (the latest valid_from on a tie), one row per
  (code, day) with columns mfn_duty_rate and scheduled_vat_rate (null when no line matches).
  `max_prefix_length` leaves out lines longer than the codes (e.g. 6 for HS6 codes).
-#}
{% macro tariff_rates(lines, code_column, date_column, max_prefix_length=none) -%}
with

tariff_lines as (
    select * from {{ ref('stg_tariff_schedule') }}
    {% if max_prefix_length is not none %}where prefix_length <= {{ max_prefix_length }}{% endif %}
),

matched_lines as (
    select
        lines.{{ code_column }},
        lines.{{ date_column }},
        tariff_lines.tax_type,
        tariff_lines.rate,
        row_number() over (
            partition by lines.{{ code_column }}, lines.{{ date_column }}, tariff_lines.tax_type
            order by tariff_lines.prefix_length desc, tariff_lines.valid_from desc
        ) as preference
    from {{ lines }} as lines
    inner join tariff_lines
        on lines.{{ code_column }} like {{ dbt.concat(['tariff_lines.hs_prefix', "'%'"]) }}
        and lines.{{ date_column }} >= tariff_lines.valid_from
        and (tariff_lines.valid_to is null or lines.{{ date_column }} <= tariff_lines.valid_to)
)

select
    {{ code_column }},
    {{ date_column }},
    max(case when tax_type = 'duty' then rate end) as mfn_duty_rate,
    max(case when tax_type = 'vat' then rate end) as scheduled_vat_rate
from matched_lines
where preference = 1
group by {{ code_column }}, {{ date_column }}
{%- endmacro %}
