{#-
  Generated populations for tests that must run on every engine: a numbers table and a deterministic
  pseudo-random hash, which the engines spell differently (the values differ between engines, each
  engine's are the same on every run).
-#}

{#- Column `i`: the integers 0 to n - 1 (a bigint). -#}
{% macro test_numbers(n) -%}
    {{ return(adapter.dispatch('test_numbers')(n)) }}
{%- endmacro %}

{% macro default__test_numbers(n) -%}
    select range as i from range({{ n }})
{%- endmacro %}

{% macro spark__test_numbers(n) -%}
    select id as i from range({{ n }})
{%- endmacro %}

{#- A non-negative bigint hash of `expression`, so that `% k` lands in 0 to k - 1 on every engine:
    DuckDB's hash() is an unsigned 64-bit integer, Spark's xxhash64() a signed one. -#}
{% macro portable_hash(expression) -%}
    {{ return(adapter.dispatch('portable_hash')(expression)) }}
{%- endmacro %}

{% macro default__portable_hash(expression) -%}
    cast(hash({{ expression }}) >> 1 as bigint)
{%- endmacro %}

{% macro spark__portable_hash(expression) -%}
    (xxhash64({{ expression }}) & 9223372036854775807)
{%- endmacro %}
