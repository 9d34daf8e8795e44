{#-
  The words a declaration names a recorded brand with: the brand and each registered variant,
  normalised (macros/text_match.sql); a name of several words is also matched written as one
  ("ray ban" as "rayban"). A variant repeating the brand is kept once, as the brand.
-#}
with

rights as (
    select * from {{ ref('stg_ipr_recordations') }}
),

named as (
    select recordation_id, 'brand' as term_kind, brand as term_text from rights
    union all
    select rights.recordation_id, 'variant' as term_kind, variants.term_text
    from rights
    {{ split_to_rows('rights.brand_variants', ';', 'variants', 'term_text') }}
),

normalised as (
    select recordation_id, term_kind, {{ normalise_text('term_text') }} as term
    from named
),

with_collapsed as (
    select recordation_id, term_kind, term from normalised where term <> ''
    union all
    select recordation_id, term_kind, replace(term, ' ', '') as term from normalised where term like '% %'
),

ranked as (
    select
        recordation_id,
        term_kind,
        term,
        row_number() over (partition by recordation_id, term order by term_kind) as nth
    from with_collapsed
)

select
    recordation_id,
    term_kind,
    term,
    term not like '% %' as is_one_word,
    length(term) as term_length
from ranked
where nth = 1
