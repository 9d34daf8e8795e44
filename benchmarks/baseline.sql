-- The bare DuckDB baseline: what a skilled analyst would write without the warehouse. One script
-- reads the landing area's files and computes the figures of marts.mirror_gaps and
-- marts.declaration_risk (docs/mirror-analysis.md, docs/revenue-at-risk.md; the rules' figures and
-- rules_score, not the learned model's risk_score), with the thresholds of dbt_project.yml written in. No typing contracts, quarantine, layers, quality checks,
-- pseudonymisation or publication: the engine's limit for the same answer.
-- benchmarks/baselines.py runs it with {landing} replaced; benchmarks/compare.py checks its results
-- equal the marts'.

-- ---- inputs -------------------------------------------------------------------------------------
create or replace temp table items as
with

-- the clearance system delivers each day as CSV or Parquet
csv as (
    select * from read_csv('{landing}/declarations/**/*.csv', header = true, auto_detect = false,
        columns = {
            'declaration_id': 'VARCHAR', 'item_no': 'INTEGER', 'flow': 'VARCHAR', 'lodged_at': 'TIMESTAMP',
            'released_at': 'TIMESTAMP', 'office_code': 'VARCHAR', 'procedure_code': 'VARCHAR',
            'declarant_id': 'VARCHAR', 'trader_id': 'VARCHAR', 'seller_id': 'VARCHAR', 'hs_code': 'VARCHAR',
            'goods_description': 'VARCHAR', 'origin_country': 'VARCHAR', 'partner_country': 'VARCHAR',
            'transport_mode': 'VARCHAR', 'net_mass_kg': 'DECIMAL(18,3)', 'supplementary_qty': 'DECIMAL(18,3)',
            'supplementary_unit': 'VARCHAR', 'invoice_amount': 'DECIMAL(20,2)', 'invoice_currency': 'VARCHAR',
            'incoterm': 'VARCHAR', 'customs_value_omr': 'DECIMAL(18,3)', 'duty_omr': 'DECIMAL(18,3)',
            'vat_omr': 'DECIMAL(18,3)', 'preference_code': 'VARCHAR', 'risk_channel': 'VARCHAR',
            'inspection_outcome': 'VARCHAR', 'finding_type': 'VARCHAR', 'trader_address_hash': 'VARCHAR',
            'trader_phone_hash': 'VARCHAR'})
),

raw as (
    select declaration_id, item_no, flow, lodged_at, procedure_code, declarant_id, trader_id, hs_code,
           origin_country, partner_country, net_mass_kg, customs_value_omr, duty_omr, vat_omr, preference_code,
           inspection_outcome
    from csv
    union all
    select declaration_id, item_no, flow, lodged_at, procedure_code, declarant_id, trader_id, hs_code,
           origin_country, partner_country, cast(net_mass_kg as decimal(18, 3)),
           cast(customs_value_omr as decimal(18, 3)), cast(duty_omr as decimal(18, 3)), cast(vat_omr as decimal(18, 3)),
           preference_code, inspection_outcome
    from read_parquet('{landing}/declarations/**/*.parquet')
)

select
    raw.declaration_id, raw.item_no, raw.flow, cast(raw.lodged_at as date) as lodged_date,
    cast(year(raw.lodged_at) * 12 + month(raw.lodged_at) as integer) as month_index,
    raw.procedure_code, raw.declarant_id, raw.trader_id, raw.hs_code,
    substring(raw.hs_code, 1, 6) as hs6, substring(raw.hs_code, 1, 4) as hs4,
    raw.net_mass_kg, raw.customs_value_omr, raw.duty_omr, raw.vat_omr, raw.preference_code, raw.inspection_outcome,
    o.iso3 as origin_iso3, p.iso3 as partner_iso3,
    coalesce(o.is_gcc, false) as origin_is_gcc, coalesce(p.is_gcc, false) as partner_is_gcc,
    cast(raw.customs_value_omr / $rule(omr_per_usd) as decimal(28, 6)) as customs_value_usd,
    case when raw.net_mass_kg > 0 then cast(raw.customs_value_omr / raw.net_mass_kg as decimal(28, 6)) end
        as unit_value_omr_kg
from raw
left join read_csv('{landing}/reference/countries.csv') as o on o.iso2 = raw.origin_country
left join read_csv('{landing}/reference/countries.csv') as p on p.iso2 = raw.partner_country;

create or replace temp table partner as
with api as (
    select unnest(data, recursive := true)
    from read_json('{landing}/partner_trade/comtrade/*.json', maximum_object_size = 1 << 28)
),
bulk as (
    -- bulk downloads and per-reporter extracts, as CSV with the API's field names
    select * from read_csv('{landing}/partner_trade/**/*.csv', header = true, union_by_name = true,
                           types = {'cmdCode': 'VARCHAR', 'period': 'VARCHAR'})
),
records as (
    select typeCode, freqCode, period, reporterCode, reporterISO, flowCode, partnerCode, partner2Code,
           classificationCode, cmdCode, customsCode, motCode, netWgt, cifvalue, fobvalue, primaryValue
    from api
    union all by name
    select typeCode, freqCode, period, reporterCode, reporterISO, flowCode, partnerCode, partner2Code,
           classificationCode, lpad(cast(cmdCode as varchar), 6, '0') as cmdCode, customsCode, motCode, netWgt, cifvalue,
           fobvalue, primaryValue
    from bulk
),
typed as (
    select typeCode, freqCode, cast(period as varchar) as period, cast(reporterCode as integer) as reporterCode,
           reporterISO, flowCode, cast(partnerCode as integer) as partnerCode,
           cast(partner2Code as integer) as partner2Code, classificationCode, cast(cmdCode as varchar) as cmdCode,
           customsCode, cast(motCode as integer) as motCode, cast(netWgt as double) as netWgt,
           cast(cifvalue as double) as cifvalue, cast(fobvalue as double) as fobvalue,
           cast(primaryValue as double) as primaryValue
    from records
)
select *, cast(substring(period, 1, 4) as integer) as year,
       case when length(cmdCode) = 6 then cmdCode end as hs6
from typed;

-- HS 2022 <-> older editions: connected components by label propagation ({passes} passes, as the model)
create or replace temp table edges as
with c as (
    select distinct
        case substring(adjustment, 9, 4) when '1992' then 'H0' when '1996' then 'H1' when '2002' then 'H2'
            when '2007' then 'H3' when '2012' then 'H4' when '2017' then 'H5' when '2022' then 'H6' end as v,
        lpad(cast("code.after" as varchar), 6, '0') as a, lpad(cast("code.before" as varchar), 6, '0') as b,
        substring(adjustment, 1, 4) as year_after
    from read_csv('{landing}/reference/hs_concordance.csv', all_varchar = true)
),
correspondence as (select distinct v, a, b from c where year_after = '2022' and v is not null and v <> 'H6'),
scored as (
    select *, count(*) over (partition by v, a) as sources from correspondence
)
select v, a, b from (
    select *, max(case when sources <= $rule(mirror.concordance_max_sources) then 1 else 0 end) over (partition by v, b) as ordinary from scored
) where sources <= $rule(mirror.concordance_max_sources) or ordinary = 0;

create or replace temp table labels_a as select v, a as hs6, min(a) as label from edges group by all;
-- begin pass (benchmarks/baselines.py runs this block {passes} times)
create or replace temp table labels_b as
    select e.v, e.b as hs6, min(l.label) as label from edges e join labels_a l on l.v = e.v and l.hs6 = e.a group by all;
create or replace temp table labels_a as
    select e.v, e.a as hs6, min(l.label) as label from edges e join labels_b l on l.v = e.v and l.hs6 = e.b group by all;
-- end pass

create or replace temp table groups as
with members as (
    select v, label, count(*) as size, string_agg(hs6, '|' order by hs6) as members from labels_a group by all
)
select 'national' as side, l.v, l.hs6, l.label as group_hs6, m.size, m.members
from labels_a l join members m using (v, label)
union all
select 'partner', l.v, l.hs6, l.label, m.size, m.members from labels_b l join members m using (v, label);

-- ---- mirror gaps -----------------------------------------------------------------------------
create or replace temp table vintages as
select reporterISO as reporter_iso3, year, classificationCode as hs_vintage from (
    select reporterISO, year, classificationCode,
           row_number() over (partition by reporterISO, year order by sum(primaryValue) desc, classificationCode desc) as r
    from partner where partnerCode = $rule(mirror.home_comtrade_code) group by reporterISO, year, classificationCode
) where r = 1;

-- the partners' records about Oman as the mirror of Oman's trade (year x flow x partner x HS6)
create or replace temp table mirror_annual as
with oman_records as (
    select * from partner
    where partnerCode = $rule(mirror.home_comtrade_code) and typeCode = 'C' and coalesce(customsCode, 'C00') = 'C00'
      and coalesce(motCode, 0) = 0 and coalesce(partner2Code, 0) = 0 and (hs6 is not null or list_contains($rule(mirror.never_flag_commodities), cmdCode))
),
chosen as (
    select * from oman_records r
    where freqCode = 'A' or not exists (
        select 1 from oman_records a where a.freqCode = 'A' and a.reporterISO = r.reporterISO and a.year = r.year)
)
select c.year, case when c.flowCode in ('X', 'RX') then 'M' else 'X' end as flow, c.reporterISO as partner_iso3,
       coalesce(g.group_hs6, c.hs6, c.cmdCode) as hs6,
       min(case when c.classificationCode = 'H6' or g.group_hs6 is not null or c.hs6 is null then 1 else 0 end) = 1
           as is_vintage_mapped,
       sum(case when c.flowCode not in ('RX', 'RM') then primaryValue else 0 end) as mirror_value_usd,
       case when count(case when c.flowCode not in ('RX', 'RM') then 1 end)
                 = count(case when c.flowCode not in ('RX', 'RM') then cifvalue end)
           then sum(case when c.flowCode not in ('RX', 'RM') then cifvalue end) end as mirror_cif,
       case when count(case when c.flowCode not in ('RX', 'RM') then 1 end)
                 = count(case when c.flowCode not in ('RX', 'RM') then fobvalue end)
           then sum(case when c.flowCode not in ('RX', 'RM') then fobvalue end) end as mirror_fob,
       sum(case when c.flowCode not in ('RX', 'RM') then netWgt else 0 end) as mirror_kg,
       sum(case when c.flowCode in ('RX', 'RM') then primaryValue else 0 end) as mirror_reexport_value_usd
from chosen c
left join groups g on g.side = 'partner' and g.v = c.classificationCode and g.hs6 = c.hs6
group by all;

create or replace temp table mirror_gaps as
with
national_items as (
    select year(lodged_date) as year, flow, case when flow = 'M' then origin_iso3 else partner_iso3 end as partner_iso3,
           hs6, customs_value_usd, net_mass_kg
    from items
),
national as (
    select n.year, n.flow, n.partner_iso3, coalesce(g.group_hs6, n.hs6) as hs6,
           sum(customs_value_usd) as national_value_usd, sum(net_mass_kg) as national_kg, count(*) as national_items
    from national_items n
    left join vintages v on v.reporter_iso3 = n.partner_iso3 and v.year = n.year
    left join groups g on g.side = 'national' and g.v = v.hs_vintage and g.hs6 = n.hs6
    where n.partner_iso3 is not null
    group by all
),
pairs as (
    select coalesce(n.year, m.year) as year, coalesce(n.flow, m.flow) as flow,
           coalesce(n.partner_iso3, m.partner_iso3) as partner_iso3, coalesce(n.hs6, m.hs6) as hs6,
           coalesce(n.national_value_usd, 0) as national_value_usd, coalesce(n.national_kg, 0) as national_kg,
           coalesce(n.national_items, 0) as national_items, coalesce(m.mirror_value_usd, 0) as mirror_value_usd,
           m.mirror_cif, m.mirror_fob, coalesce(m.mirror_kg, 0) as mirror_kg,
           coalesce(m.mirror_reexport_value_usd, 0) as mirror_reexport_value_usd,
           coalesce(m.is_vintage_mapped, true) as is_vintage_mapped
    from national n
    full join mirror_annual m on m.year = n.year and m.flow = n.flow and m.partner_iso3 = n.partner_iso3 and m.hs6 = n.hs6
),
margins as (
    select partner_iso3, hs_chapter, margin,
           (case when hs_chapter is not null then 2 else 0 end) + (case when partner_iso3 is not null then 1 else 0 end) as s
    from read_csv('{landing}/reference/cif_fob_margins.csv', types = {'hs_chapter': 'VARCHAR', 'margin': 'DECIMAL(6,4)'})
),
adjusted as (
    select p.*, v.hs_vintage, v.reporter_iso3 is not null as partner_reported_year,
           coalesce((select m.margin from margins m
                     where (m.partner_iso3 = p.partner_iso3 or m.partner_iso3 is null)
                       and (m.hs_chapter = substring(p.hs6, 1, 2) or m.hs_chapter is null)
                     order by m.s desc limit 1), $rule(mirror.default_cif_fob_margin)) as margin
    from pairs p
    left join vintages v on v.reporter_iso3 = p.partner_iso3 and v.year = p.year
),
measured as (
    select *,
           case when flow = 'M' and mirror_cif is not null then mirror_cif
                when flow = 'M' then mirror_value_usd * margin
                when mirror_fob is not null then mirror_fob
                else mirror_value_usd / margin end as mirror_adjusted
    from adjusted
),
judged as (
    select m.*, national_value_usd - mirror_adjusted as gap_usd,
           case when national_value_usd + mirror_adjusted > 0
               then abs(national_value_usd - mirror_adjusted) / (national_value_usd + mirror_adjusted) end as sd,
           case when national_kg > 0 or mirror_kg > 0
               then 1 - abs(national_kg - mirror_kg) / greatest(national_kg, mirror_kg) end as quantity_agreement,
           coalesce(list_contains($rule(mirror.special_partner_codes), c.comtrade_code), false)
               or list_contains($rule(mirror.never_flag_commodities), m.hs6) as excluded
    from measured m
    left join read_csv('{landing}/reference/countries.csv') c on c.iso3 = m.partner_iso3
)
select year, flow, partner_iso3, hs6, national_value_usd, mirror_value_usd, mirror_adjusted as mirror_value_adjusted_usd,
       gap_usd, national_items,
       abs(gap_usd) >= $rule(mirror.min_gap_usd) and sd >= $rule(mirror.min_symmetric_discrepancy) and not excluded and partner_reported_year and is_vintage_mapped as is_flagged,
       quantity_agreement
from judged;

-- ---- declaration risk ------------------------------------------------------------------------
create or replace temp table tariff as
select tax_type, coalesce(hs_prefix, '') as hs_prefix, length(coalesce(hs_prefix, '')) as prefix_length, rate,
       valid_from, valid_to
from read_csv('{landing}/reference/tariff_schedule.csv',
              types = {'hs_prefix': 'VARCHAR', 'rate': 'DECIMAL(9,6)', 'valid_from': 'DATE', 'valid_to': 'DATE'});

create or replace temp table line_rates as
with lines as (select distinct hs_code, lodged_date from items),
matched as (
    select l.hs_code, l.lodged_date, t.tax_type, t.rate,
           row_number() over (partition by l.hs_code, l.lodged_date, t.tax_type
                              order by t.prefix_length desc, t.valid_from desc) as r
    from lines l join tariff t
        on starts_with(l.hs_code, t.hs_prefix) and l.lodged_date >= t.valid_from
        and (t.valid_to is null or l.lodged_date <= t.valid_to)
)
select hs_code, lodged_date, max(case when tax_type = 'duty' then rate end) as mfn,
       max(case when tax_type = 'vat' then rate end) as vat
from matched where r = 1 group by all;

create or replace temp table hs6_rates as
with codes as (select distinct hs6 from items union select distinct hs6 from mirror_gaps),
months as (select distinct cast(date_trunc('month', lodged_date) as date) as month_start from items),
matched as (
    select c.hs6, m.month_start, t.tax_type, t.rate,
           row_number() over (partition by c.hs6, m.month_start, t.tax_type
                              order by t.prefix_length desc, t.valid_from desc) as r
    from codes c cross join months m join tariff t
        on t.prefix_length <= 6 and starts_with(c.hs6, t.hs_prefix) and m.month_start >= t.valid_from
        and (t.valid_to is null or m.month_start <= t.valid_to)
)
select hs6, month_start, coalesce(max(case when tax_type = 'duty' then rate end), 0) as mfn
from matched where r = 1 group by all;

create or replace temp table taxed as
select i.*, coalesce(r.mfn, 0) as mfn_duty_rate,
       coalesce(i.preference_code = '$rule(risk.gcc_preference_code)' and i.origin_is_gcc, false) as gcc_pref,
       coalesce(p.duty_exempt, false) as duty_exempt,
       case when i.flow = 'X' or coalesce(i.preference_code = '$rule(risk.gcc_preference_code)' and i.origin_is_gcc, false)
                 or coalesce(p.duty_exempt, false) then 0 else coalesce(r.mfn, 0) end as duty_rate,
       case when i.flow = 'X' or coalesce(p.vat_exempt, false) then 0 else coalesce(r.vat, 0) end as vat_rate
from items i
left join line_rates r on r.hs_code = i.hs_code and r.lodged_date = i.lodged_date
left join read_csv('{dbt_seeds}/procedure_codes.csv', types = {'procedure_code': 'VARCHAR'}) p
    on p.procedure_code = i.procedure_code;

-- trailing 12-month unit-value quantiles: monthly value lists, a range window over the 12 months before
create or replace temp table refs as
with pop as (
    select flow, hs6, hs4, origin_iso3, month_index, cast(unit_value_omr_kg as double) as value from items
    where unit_value_omr_kg > 0 and not list_contains($rule(risk.irregular_outcomes), coalesce(inspection_outcome, 'none'))
),
months as (select distinct month_index from items),
targets as (
    select distinct 'hs6_origin' as level, flow, hs6 as code, origin_iso3, month_index from items where origin_iso3 is not null
    union all
    select 'hs6', c.flow, c.hs6, null, m.month_index from (select distinct flow, hs6 from items) c cross join months m
    union all
    select distinct 'hs4', flow, hs4, null, month_index from items
),
monthly as (
    select 'hs6_origin' as level, flow, hs6 as code, origin_iso3, month_index, list(value) as vals from pop group by all
    union all
    select 'hs6', flow, hs6, null, month_index, list(value) from pop group by all
    union all
    select 'hs4', flow, hs4, null, month_index, list(value) from pop group by all
),
frames as (
    select coalesce(t.level, m.level) as level, coalesce(t.flow, m.flow) as flow, coalesce(t.code, m.code) as code,
           coalesce(t.origin_iso3, m.origin_iso3) as origin_iso3, coalesce(t.month_index, m.month_index) as month_index,
           t.month_index is not null as is_target, coalesce(m.vals, []) as vals
    from targets t
    full join monthly m on m.level = t.level and m.flow = t.flow and m.code = t.code
        and m.origin_iso3 is not distinct from t.origin_iso3 and m.month_index = t.month_index
),
windowed as (
    select *, flatten(list(vals) over (partition by level, flow, code, origin_iso3 order by month_index
                                       range between $rule(risk.reference_months) preceding and 1 preceding)) as trailing_values
    from frames
)
select level, flow, code, origin_iso3, month_index, len(trailing_values) as n,
       list_aggregate(trailing_values, 'quantile_cont', 0.10) as p10, list_aggregate(trailing_values, 'quantile_cont', 0.25) as p25,
       list_aggregate(trailing_values, 'quantile_cont', 0.50) as p50, list_aggregate(trailing_values, 'quantile_cont', 0.75) as p75,
       list_aggregate(trailing_values, 'quantile_cont', 0.90) as p90
from windowed where is_target and len(trailing_values) >= $rule(risk.min_reference_items);

create or replace temp table referenced as
select t.*,
       coalesce(r1.p25, r2.p25, r3.p25) as ref_low, coalesce(r1.p50, r2.p50, r3.p50) as ref_median,
       r2.p50 as own_hs6_median
from taxed t
left join refs r1 on r1.level = 'hs6_origin' and r1.flow = t.flow and r1.code = t.hs6 and r1.origin_iso3 = t.origin_iso3
    and r1.month_index = t.month_index
left join refs r2 on r2.level = 'hs6' and r2.flow = t.flow and r2.code = t.hs6 and r2.month_index = t.month_index
left join refs r3 on r3.level = 'hs4' and r3.flow = t.flow and r3.code = t.hs4 and r3.month_index = t.month_index;

create or replace temp table suggestions as
select declaration_id, item_no, suggested_hs6, suggested_rate from (
    select r.declaration_id, r.item_no, c.code as suggested_hs6, h.mfn as suggested_rate,
           row_number() over (partition by r.declaration_id, r.item_no
                              order by h.mfn desc, abs(r.unit_value_omr_kg - c.p50) / c.p50, c.code) as pref
    from referenced r
    join refs c on c.level = 'hs6' and c.flow = r.flow and c.month_index = r.month_index
        and substring(c.code, 1, 4) = r.hs4 and c.code <> r.hs6 and r.unit_value_omr_kg between c.p10 and c.p90
    join hs6_rates h on h.hs6 = c.code and h.month_start = cast(date_trunc('month', r.lodged_date) as date)
    where r.flow = 'M' and r.own_hs6_median > 0
      and (r.unit_value_omr_kg > $rule(risk.misclassification_ratio) * r.own_hs6_median
           or r.unit_value_omr_kg * $rule(risk.misclassification_ratio) < r.own_hs6_median)
      and h.mfn > r.mfn_duty_rate and not r.gcc_pref and not r.duty_exempt
) where pref = 1;

-- the origin mirror test: GCC-origin imports consigned from a GCC partner that reported that year, per
-- year x partner x HS6 (its concordance group), against its own exports to Oman brought to CIF in rials
create or replace temp table origin_mirror as
with consigned as (
    select year(i.lodged_date) as year, i.partner_iso3, coalesce(g.group_hs6, i.hs6) as mirror_hs6, i.hs6,
           i.customs_value_omr
    from items i
    join vintages v on v.reporter_iso3 = i.partner_iso3 and v.year = year(i.lodged_date)
    left join groups g on g.side = 'national' and g.v = v.hs_vintage and g.hs6 = i.hs6
    where i.flow = 'M' and i.origin_is_gcc and i.partner_is_gcc
),
cells as (
    select n.*, coalesce(m.mirror_value_usd, 0) * $rule(omr_per_usd) * $rule(mirror.default_cif_fob_margin)
               as mirror_value_omr
    from (select year, partner_iso3, mirror_hs6, sum(customs_value_omr) as value_omr from consigned group by all) n
    left join mirror_annual m on m.flow = 'M' and m.year = n.year and m.partner_iso3 = n.partner_iso3
        and m.hs6 = n.mirror_hs6
)
select distinct c.year, c.partner_iso3, c.hs6, (cells.value_omr - cells.mirror_value_omr) / cells.value_omr as excess_share
from cells join consigned c using (year, partner_iso3, mirror_hs6)
where cells.value_omr > $rule(risk.origin_mirror_ratio) * cells.mirror_value_omr
  and cells.value_omr - cells.mirror_value_omr >= $rule(risk.origin_mirror_min_excess_omr);

-- parties' inspection history (the 12 months before)
create or replace temp table party_history as
with inspected as (
    select party_type, party_id, month_index, count(*) as inspected,
           sum(case when list_contains($rule(risk.irregular_outcomes), inspection_outcome) then 1 else 0 end) as hits
    from (
        select distinct 'trader' as party_type, trader_id as party_id, declaration_id, month_index, inspection_outcome
        from items where inspection_outcome is not null
        union all
        select distinct 'declarant', declarant_id, declaration_id, month_index, inspection_outcome
        from items where inspection_outcome is not null
    ) group by all
),
months as (select distinct month_index from items),
base as (
    select m.month_index, sum(i.hits) * 1.0 / nullif(sum(i.inspected), 0) as base_rate
    from months m join inspected i on i.month_index between m.month_index - $rule(risk.reference_months) and m.month_index - 1
    group by all
),
party_months as (
    select distinct 'trader' as party_type, trader_id as party_id, month_index from items
    union
    select distinct 'declarant', declarant_id, month_index from items
)
select pm.party_type, pm.party_id, pm.month_index, max(b.base_rate) as base_rate,
       coalesce(sum(i.inspected), 0) as prior_inspected, coalesce(sum(i.hits), 0) as prior_hits,
       (coalesce(sum(i.hits), 0) + $rule(risk.hit_rate_prior_weight) * max(b.base_rate))
           / (coalesce(sum(i.inspected), 0) + $rule(risk.hit_rate_prior_weight)) as prior_hit_rate
from party_months pm
join base b on b.month_index = pm.month_index
left join inspected i on i.party_type = pm.party_type and i.party_id = pm.party_id
    and i.month_index between pm.month_index - $rule(risk.reference_months) and pm.month_index - 1
group by all;

create or replace temp table declaration_risk as
with signalled as (
    select r.*, s.suggested_hs6, s.suggested_rate, s.suggested_hs6 is not null as sig_misclass,
           case when r.ref_median > 0 then r.unit_value_omr_kg / r.ref_median end as valuation_ratio,
           r.origin_is_gcc and not r.partner_is_gcc as sig_origin,
           r.origin_is_gcc and r.partner_is_gcc and o.excess_share is not null as sig_origin_mirror,
           coalesce(o.excess_share, 0) as excess_share,
           th.prior_hit_rate as trader_rate, dh.prior_hit_rate as declarant_rate,
           coalesce(th.prior_inspected >= $rule(risk.history_min_inspections) and th.prior_hits >= $rule(risk.history_min_hits)
                    and th.base_rate > 0 and th.prior_hit_rate >= $rule(risk.trader_history_ratio) * th.base_rate, false)
               as sig_trader_history,
           coalesce(dh.prior_inspected >= $rule(risk.history_min_inspections) and dh.prior_hits >= $rule(risk.history_min_hits)
                    and dh.base_rate > 0 and dh.prior_hit_rate >= $rule(risk.declarant_history_ratio) * dh.base_rate, false)
               as sig_declarant_history,
           round(r.customs_value_omr * r.duty_rate, 3) as assessed_duty
    from referenced r
    left join suggestions s using (declaration_id, item_no)
    left join origin_mirror o on o.year = year(r.lodged_date) and o.partner_iso3 = r.partner_iso3 and o.hs6 = r.hs6
    left join party_history th on th.party_type = 'trader' and th.party_id = r.trader_id and th.month_index = r.month_index
    left join party_history dh on dh.party_type = 'declarant' and dh.party_id = r.declarant_id
        and dh.month_index = r.month_index
),
money as (
    select *,
           coalesce(not sig_misclass and unit_value_omr_kg < ref_low
                    and valuation_ratio < $rule(risk.valuation_ratio_threshold), false) as sig_valuation,
           round((customs_value_omr + assessed_duty) * vat_rate, 3) as assessed_vat
    from signalled
),
amounts as (
    select *,
           case when sig_valuation
               then round(cast(ref_median * net_mass_kg - customs_value_omr as decimal(38, 9)), 3) else 0 end as under_omr,
           case when sig_misclass then round(customs_value_omr * (suggested_rate - mfn_duty_rate), 3) else 0 end as mis_duty,
           -- the duty the preference relieved: all of it (origin), the cell's excess share (mirror)
           case when not gcc_pref or duty_exempt then 0
                when sig_origin then round(customs_value_omr * mfn_duty_rate, 3)
                when sig_origin_mirror then round(customs_value_omr * mfn_duty_rate * excess_share, 3)
                else 0 end as origin_duty,
           -- declared tax short of the tariff's on the declared value, beyond the tolerance
           case when duty_omr is not null and assessed_duty - duty_omr > $rule(risk.assessment_tolerance_baisa) / 1000.0
               then assessed_duty - duty_omr else 0 end as assess_duty,
           case when vat_omr is not null and assessed_vat - vat_omr > $rule(risk.assessment_tolerance_baisa) / 1000.0
               then assessed_vat - vat_omr else 0 end as assess_vat
    from money
),
totals as (
    select *,
           round(under_omr * duty_rate, 3) as val_duty,
           round((under_omr + round(under_omr * duty_rate, 3)) * vat_rate, 3) as val_vat,
           round(mis_duty * vat_rate, 3) as mis_vat,
           round(origin_duty * vat_rate, 3) as origin_vat,
           assess_duty > 0 or assess_vat > 0 as sig_assessment
    from amounts
),
summed as (
    select *,
           val_duty + mis_duty + origin_duty + assess_duty + val_vat + mis_vat + origin_vat + assess_vat as total,
           $rule(risk.score.trader_hit_rate_points) * coalesce(trader_rate, 0)
               + $rule(risk.score.declarant_hit_rate_points) * coalesce(declarant_rate, 0) as history_points
    from totals
)
select declaration_id, item_no, ref_median as reference_unit_value_omr_kg, valuation_ratio, suggested_hs6,
       val_duty as valuation_duty_at_risk_omr, val_vat as valuation_vat_at_risk_omr,
       mis_duty as misclassification_duty_at_risk_omr, mis_vat as misclassification_vat_at_risk_omr,
       origin_duty as origin_duty_at_risk_omr, origin_vat as origin_vat_at_risk_omr,
       assess_duty as assessment_duty_omr, assess_vat as assessment_vat_omr, total as total_at_risk_omr,
       sig_valuation as signal_valuation, sig_misclass as signal_misclassification, sig_origin as signal_origin,
       sig_origin_mirror as signal_origin_mirror, sig_assessment as signal_assessment,
       sig_trader_history as signal_trader_history, sig_declarant_history as signal_declarant_history,
       -- history alone scores at most no_signal_max_points, under any item-level signal
       round(case when not (sig_valuation or sig_misclass or sig_origin or sig_origin_mirror or sig_assessment)
           then least($rule(risk.score.no_signal_max_points), history_points)
           else least(100, history_points
               + (case when sig_valuation then $rule(risk.score.valuation_base_points)
                   + $rule(risk.score.valuation_depth_points) * (1 - valuation_ratio / $rule(risk.valuation_ratio_threshold))
                   else 0 end)
               + (case when sig_misclass then $rule(risk.score.misclassification_points) else 0 end)
               + (case when sig_origin then $rule(risk.score.origin_points) else 0 end)
               + (case when sig_origin_mirror then $rule(risk.score.origin_mirror_points) else 0 end)
               + (case when sig_assessment then $rule(risk.score.assessment_points) else 0 end)
               + $rule(risk.score.money_points) * least(1, ln(1 + total) / ln(1 + $rule(risk.score.money_full_scale_omr))))
         end, 2) as rules_score
from summed;
