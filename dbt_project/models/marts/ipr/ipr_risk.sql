{#-
  Counterfeit risk: one row per import item that touches a recorded right (int_ipr_item_rights); an
  item touching several is shown against the one it names, then the one it scores highest on. Each
  signal is a boolean, with its reason in words in ipr_reasons. The authorisation signals apply only
  when the brand is named (goods that only fall in a covered heading are not known to be branded).
  ipr_score adds the points of `ipr.score` per signal, capped at 100; rank 1 is the first to examine.
  Prior seizures count counterfeit seizures (finding_type `ipr.counterfeit_finding`) on the same route
  (origin > partner | HS chapter | transport mode) lodged on earlier days. Method: docs/ip-protection.md.
-#}
{% set ipr = var('ipr') %}
{% set points = ipr['score'] %}
{% set small = ipr['small_consignment'] %}

with

touching as (
    select * from {{ ref('int_ipr_item_rights') }}
),

rights as (
    select
        *,
        coalesce(authorised_partner_countries, authorised_origins) as authorised_senders,
        case when authorised_trader_keys is not null
            then length(authorised_trader_keys) - length(replace(authorised_trader_keys, ';', '')) + 1
            else 0
        end as authorised_importers
    from {{ ref('stg_ipr_recordations') }}
),

items as (
    select
        *,
        {{ dbt.concat(["coalesce(origin_iso3, '?')", "'>'", "coalesce(partner_iso3, '?')", "'|HS'", "hs2", "'|'", "coalesce(transport_mode, 'unknown')"]) }} as route
    from {{ ref('int_declaration_items') }}
    where flow = 'M'
),

route_seizures as (
    select route, lodged_date, count(*) as seizures
    from items
    where inspection_outcome = 'seizure' and finding_type = '{{ ipr["counterfeit_finding"] }}'
    group by route, lodged_date
),

candidates as (
    select
        items.declaration_id,
        items.declaration_ref,
        items.item_no,
        items.lodged_date,
        items.trader_key,
        items.declarant_key,
        items.hs6,
        items.origin_iso2,
        items.origin_iso3,
        items.partner_iso2,
        items.partner_iso3,
        items.transport_mode,
        items.route,
        items.net_mass_kg,
        items.supplementary_qty,
        items.customs_value_omr,
        items.unit_value_omr_kg,
        items.inspection_outcome,
        items.finding_type,
        touching.recordation_id,
        touching.brand_named,
        touching.named_as,
        touching.matched_text,
        touching.hs_covered,
        rights.right_holder,
        rights.brand,
        rights.contact as right_holder_contact,
        rights.authorised_trader_keys,
        rights.authorised_importers,
        rights.authorised_origins,
        rights.authorised_senders,
        rights.price_floor_omr,
        rights.price_floor_basis,
        case rights.price_floor_basis
            when 'kg' then items.unit_value_omr_kg
            -- divided as doubles (DuckDB's decimal division), so that every engine rounds the same quotient
            when 'unit' then case when items.supplementary_qty > 0
                then cast(cast(items.customs_value_omr as double) / items.supplementary_qty as {{ dbt.type_numeric() }}) end
        end as unit_value_omr
    from touching
    inner join items on items.declaration_id = touching.declaration_id and items.item_no = touching.item_no
    inner join rights on rights.recordation_id = touching.recordation_id
),

first_imports as (
    select trader_key, recordation_id, min(lodged_date) as first_day
    from candidates
    where brand_named
    group by trader_key, recordation_id
),

prior_seizures as (
    select candidates.declaration_id, candidates.item_no, candidates.recordation_id, cast(sum(route_seizures.seizures) as bigint) as seizures
    from candidates
    inner join route_seizures
        on route_seizures.route = candidates.route and route_seizures.lodged_date < candidates.lodged_date
    group by candidates.declaration_id, candidates.item_no, candidates.recordation_id
),

signals as (
    select
        candidates.*,
        coalesce(prior_seizures.seizures, 0) as prior_route_seizures,
        candidates.brand_named as signal_brand_named,
        candidates.hs_covered and not candidates.brand_named as signal_hs_covered,
        candidates.brand_named and candidates.authorised_importers > 0
            and {{ dbt.concat(["';'", "candidates.authorised_trader_keys", "';'"]) }}
            not like {{ dbt.concat(["'%;'", "candidates.trader_key", "';%'"]) }} as signal_unauthorised_importer,
        candidates.brand_named and candidates.authorised_origins is not null
            and {{ dbt.concat(["';'", "candidates.authorised_origins", "';'"]) }}
            not like {{ dbt.concat(["'%;'", "candidates.origin_iso2", "';%'"]) }} as signal_unauthorised_origin,
        candidates.brand_named and candidates.authorised_senders is not null
            and {{ dbt.concat(["';'", "candidates.authorised_senders", "';'"]) }}
            not like {{ dbt.concat(["'%;'", "candidates.partner_iso2", "';%'"]) }} as signal_unauthorised_partner,
        coalesce(candidates.unit_value_omr < candidates.price_floor_omr, false) as signal_below_price_floor,
        coalesce(
            candidates.transport_mode in ({{ quoted_list(small['transport_modes']) }})
            and candidates.net_mass_kg <= {{ small['max_net_mass_kg'] }}
            and candidates.customs_value_omr <= {{ small['max_value_omr'] }},
            false
        ) as signal_small_consignment,
        candidates.brand_named and candidates.lodged_date = first_imports.first_day as signal_first_import_of_brand,
        coalesce(prior_seizures.seizures, 0) > 0 as signal_prior_route_seizures
    from candidates
    left join first_imports
        on first_imports.trader_key = candidates.trader_key and first_imports.recordation_id = candidates.recordation_id
    left join prior_seizures
        on prior_seizures.declaration_id = candidates.declaration_id
        and prior_seizures.item_no = candidates.item_no
        and prior_seizures.recordation_id = candidates.recordation_id
),

scored as (
    select
        *,
        least(100,
            {%- for name, value in points.items() %}
            case when signal_{{ name }} then {{ value }} else 0 end{{ " +" if not loop.last }}
            {%- endfor %}
        ) as ipr_score,
        {%- for name in points %}
        case when signal_{{ name }} then 1 else 0 end{{ " +" if not loop.last else " as signals" }}
        {%- endfor %}
    from signals
),

best as (
    select
        *,
        row_number() over (
            partition by declaration_id, item_no order by brand_named desc, ipr_score desc, recordation_id
        ) as nth,
        count(*) over (partition by declaration_id, item_no) as rights_touched
    from scored
),

explained as (
    {%- set text = dbt.type_string() %}
    select
        *,
        concat_ws('; ',
            case when signal_brand_named then 'brand ' || brand || ' named' || case named_as
                when 'brand' then ''
                when 'variant' then ' as the variant "' || matched_text || '"'
                else ' as "' || matched_text || '" (misspelt)'
            end end,
            case when signal_hs_covered then 'HS ' || hs6 || ' is goods ' || brand || ' covers (brand not named)' end,
            case when signal_unauthorised_importer
                then 'importer not among the ' || cast(authorised_importers as {{ text }}) || ' authorised' end,
            case when signal_unauthorised_origin
                then 'origin ' || origin_iso2 || ' not authorised (' || replace(authorised_origins, ';', ', ') || ')' end,
            case when signal_unauthorised_partner
                then 'consigned from ' || partner_iso2 || ', not from an authorised country ('
                    || replace(authorised_senders, ';', ', ') || ')' end,
            case when signal_below_price_floor
                then 'declared ' || cast(round(unit_value_omr, 3) as {{ text }}) || ' OMR per ' || price_floor_basis
                    || ', under the genuine floor of ' || cast(price_floor_omr as {{ text }}) end,
            case when signal_small_consignment
                then 'small consignment by ' || transport_mode || ' (' || cast(net_mass_kg as {{ text }}) || ' kg, '
                    || cast(customs_value_omr as {{ text }}) || ' OMR)' end,
            case when signal_first_import_of_brand then 'the importer''s first import of ' || brand end,
            case when signal_prior_route_seizures
                then cast(prior_route_seizures as {{ text }}) || ' earlier counterfeit seizure(s) on the route ' || route end
        ) as ipr_reasons
    from best
    where nth = 1
)

select
    declaration_id,
    declaration_ref,
    item_no,
    lodged_date,
    trader_key,
    declarant_key,
    hs6,
    origin_iso3,
    partner_iso3,
    transport_mode,
    route,
    net_mass_kg,
    customs_value_omr,
    recordation_id,
    right_holder,
    right_holder_contact,
    brand,
    named_as,
    rights_touched,
    unit_value_omr_kg,
    case when price_floor_basis = 'kg' then price_floor_omr end as price_floor_omr_kg,
    unit_value_omr,
    price_floor_omr,
    price_floor_basis,
    prior_route_seizures,
    signal_brand_named,
    signal_hs_covered,
    signal_unauthorised_importer,
    signal_unauthorised_origin,
    signal_unauthorised_partner,
    signal_below_price_floor,
    signal_small_consignment,
    signal_first_import_of_brand,
    signal_prior_route_seizures,
    signals,
    ipr_reasons,
    ipr_score,
    cast(row_number() over (order by ipr_score desc, signals desc, customs_value_omr desc, declaration_id, item_no) as bigint) as rank,
    inspection_outcome,
    finding_type
from explained
