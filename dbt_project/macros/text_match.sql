{#-
  Text reduced for matching brand names (ipr models): lower case, accents stripped, '$' read as s and
  '@' as a, every run of other characters one space.
-#}
{% macro normalise_text(expression) -%}
    trim(regexp_replace(
        replace(replace(lower({{ strip_accents(expression) }}), '$', 's'), '@', 'a'), '[^a-z0-9]+', ' '{{ regexp_replace_all_flag() }}
    ))
{%- endmacro %}

{#- DuckDB's regexp_replace replaces the first match unless told 'g'; Spark's always replaces every one. -#}
{% macro regexp_replace_all_flag() -%}
    {{ return(adapter.dispatch('regexp_replace_all_flag')()) }}
{%- endmacro %}

{% macro default__regexp_replace_all_flag() -%}, 'g'{%- endmacro %}

{% macro spark__regexp_replace_all_flag() -%}{%- endmacro %}

{#-
  Accents stripped: a letter decomposed (Unicode canonical decomposition, NFD) and its combining marks
  dropped. Spark has no such function: ICU4J, which Spark ships for its collations, decomposes, and
  the marks (\p{M}) are removed. Java's regular expressions know the marks of its own Unicode version,
  so a mark added to Unicode later stays on Spark (it becomes a space in normalise_text).
-#}
{% macro strip_accents(expression) -%}
    {{ return(adapter.dispatch('strip_accents')(expression)) }}
{%- endmacro %}

{% macro default__strip_accents(expression) -%}
    strip_accents({{ expression }})
{%- endmacro %}

{% macro spark__strip_accents(expression) -%}
    regexp_replace(reflect('com.ibm.icu.text.Normalizer', 'decompose', {{ expression }}, false), '\\p{M}', '')
{%- endmacro %}

{#- Whether `expression` contains a match of the regular expression `pattern` (a SQL string literal). -#}
{% macro regexp_contains(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_contains')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_contains(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ pattern }})
{%- endmacro %}

{% macro spark__regexp_contains(expression, pattern) -%}
    ({{ expression }} rlike {{ pattern }})
{%- endmacro %}

{#- A word that mixes letters and digits read as fakers write letters (N1KE, ad1da5): 0 o, 1 i, 3 e, 4 a, 5 s, 7 t. -#}
{% macro unleet(word) -%}
    case when {{ regexp_contains(word, "'[a-z]'") }} and {{ regexp_contains(word, "'[0-9]'") }}
        then translate({{ word }}, '013457', 'oieast') else {{ word }} end
{%- endmacro %}

{#-
  Whether two different words are one edit apart: a letter changed, added or dropped, or two adjacent
  letters swapped (Damerau-Levenshtein distance 1). Spark has Levenshtein only: distance 1 there, or
  the same length and one adjacent swap turning one word into the other.
-#}
{% macro one_edit_apart(left, right) -%}
    {{ return(adapter.dispatch('one_edit_apart')(left, right)) }}
{%- endmacro %}

{% macro default__one_edit_apart(left, right) -%}
    damerau_levenshtein({{ left }}, {{ right }}) = 1
{%- endmacro %}

{% macro spark__one_edit_apart(left, right) -%}
    (levenshtein({{ left }}, {{ right }}) = 1
        or (length({{ left }}) = length({{ right }}) and length({{ left }}) >= 2
            and exists(sequence(1, length({{ left }}) - 1), i -> concat(
                substr({{ left }}, 1, i - 1), substr({{ left }}, i + 1, 1), substr({{ left }}, i, 1), substr({{ left }}, i + 2)
            ) = {{ right }})))
{%- endmacro %}
