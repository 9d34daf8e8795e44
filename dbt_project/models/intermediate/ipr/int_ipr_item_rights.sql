{#-
  Every import item that touches a recorded right in force on its lodgement day: its description names
  the brand (exactly, as a registered variant, written with digits for letters, or with one letter
  changed, added, dropped or swapped in a word of at least `ipr.fuzzy_min_length` letters), or its HS
  code lies in a heading the right covers. One row per item and right, with how the brand was named.
  Incremental: rebuilt from the earliest changed lodgement day; a new register rebuilds everything (a
  reference snapshot changes every day).
-#}
{{ config(**window_incremental('lodged_date', partition_by='lodged_month')) }}

{% set fuzzy_min_length = var('ipr')['fuzzy_min_length'] %}

with

items as (
    select
        declaration_id,
        item_no,
        lodged_date,
        lodged_month,
        hs2,
        hs4,
        hs6,
        {{ normalise_text("coalesce(goods_description, '')") }} as description
    from {{ ref('int_declaration_items') }}
    where flow = 'M' and {{ in_refresh_window('lodged_date') }}
),

rights as (
    select * from {{ ref('stg_ipr_recordations') }}
),

terms as (
    select * from {{ ref('int_ipr_terms') }}
),

words as (
    select items.declaration_id, items.item_no, split.word, {{ unleet('split.word') }} as read_as
    from items
    {{ split_to_rows('items.description', ' ', 'split', 'word') }}
    where split.word <> ''
),

one_word_matches as (
    select words.declaration_id, words.item_no, terms.recordation_id, terms.term_kind, words.word as matched_text,
        case when words.word = terms.term then 0 else 1 end as edits  -- digits for letters: disguised
    from words
    inner join terms
        on terms.is_one_word
        and (words.read_as = terms.term or words.word = terms.term)
    union all
    select words.declaration_id, words.item_no, terms.recordation_id, terms.term_kind, words.word as matched_text,
        1 as edits
    from words
    inner join terms
        on terms.is_one_word
        and terms.term_length >= {{ fuzzy_min_length }}
        and substring(words.read_as, 1, 1) = substring(terms.term, 1, 1)
        and abs(length(words.read_as) - terms.term_length) <= 1
        and words.read_as <> terms.term
        and {{ one_edit_apart('words.read_as', 'terms.term') }}
),

phrase_matches as (
    select items.declaration_id, items.item_no, terms.recordation_id, terms.term_kind, terms.term as matched_text,
        0 as edits
    from items
    inner join terms
        on not terms.is_one_word
        and {{ dbt.concat(["' '", "items.description", "' '"]) }} like {{ dbt.concat(["'% '", "terms.term", "' %'"]) }}
),

brand_matches as (
    select
        declaration_id,
        item_no,
        recordation_id,
        case when edits > 0 then 'misspelt' when term_kind = 'brand' then 'brand' else 'variant' end as named_as,
        matched_text,
        row_number() over (
            partition by declaration_id, item_no, recordation_id order by edits, term_kind, matched_text
        ) as nth
    from (
        select * from one_word_matches
        union all
        select * from phrase_matches
    ) as found
),

scope as (
    select rights.recordation_id, split.hs_prefix
    from rights
    {{ split_to_rows('rights.hs_scope', ';', 'split', 'hs_prefix') }}
),

hs_matches as (
    select distinct items.declaration_id, items.item_no, scope.recordation_id
    from items
    inner join scope
        on scope.hs_prefix = case length(scope.hs_prefix) when 2 then items.hs2 when 4 then items.hs4 else items.hs6 end
),

touching as (
    select declaration_id, item_no, recordation_id from brand_matches where nth = 1
    union
    select declaration_id, item_no, recordation_id from hs_matches
)

select
    items.declaration_id,
    items.item_no,
    items.lodged_date,
    items.lodged_month,
    touching.recordation_id,
    brand_matches.named_as is not null as brand_named,
    brand_matches.named_as,
    brand_matches.matched_text,
    hs_matches.recordation_id is not null as hs_covered
from touching
inner join items on items.declaration_id = touching.declaration_id and items.item_no = touching.item_no
inner join rights on rights.recordation_id = touching.recordation_id
left join brand_matches
    on brand_matches.declaration_id = touching.declaration_id
    and brand_matches.item_no = touching.item_no
    and brand_matches.recordation_id = touching.recordation_id
    and brand_matches.nth = 1
left join hs_matches
    on hs_matches.declaration_id = touching.declaration_id
    and hs_matches.item_no = touching.item_no
    and hs_matches.recordation_id = touching.recordation_id
where items.lodged_date >= rights.valid_from
    and (rights.valid_to is null or items.lodged_date <= rights.valid_to)
