{#-
  The tables the learned risk model writes back (source `models`), created empty when missing so that
  dbt builds, and its unit tests run, before any training. Their writer is
  orchestration/assets/selectivity.py; this is the one place their shape is written.
-#}
{% macro create_model_tables() -%}
    {{ return(adapter.dispatch('create_model_tables')()) }}
{%- endmacro %}

{% macro default__create_model_tables() -%}
    {%- set risk_scores -%}
    create table if not exists models.risk_scores (
        declaration_id {{ dbt.type_string() }}, item_no integer, period_month date,
        fraud_probability double, model_version {{ dbt.type_string() }},
        model_explanation {{ dbt.type_string() }}, model_top_features {{ dbt.type_string() }},
        exploration_draw double, rules_weight double, scored_at timestamp
    )
    {%- endset -%}
    {%- set risk_backtest -%}
    create table if not exists models.risk_backtest (
        model_version {{ dbt.type_string() }}, declaration_id {{ dbt.type_string() }}, item_no integer,
        period_month date, fraud_probability double, rules_weight double
    )
    {%- endset -%}
    {{ return(run_statements(['create schema if not exists models', risk_scores, risk_backtest])) }}
{%- endmacro %}


{#- The party graph's communities (source `networks`), written by orchestration/assets/networks.py. -#}
{% macro create_network_tables() -%}
    {{ return(adapter.dispatch('create_network_tables')()) }}
{%- endmacro %}

{% macro default__create_network_tables() -%}
    {%- set party_communities -%}
    create table if not exists networks.party_communities (
        party_type {{ dbt.type_string() }}, party_key {{ dbt.type_string() }}, degree integer,
        component_id {{ dbt.type_string() }}, component_size integer,
        community_id {{ dbt.type_string() }}, community_size integer, computed_at timestamp
    )
    {%- endset -%}
    {{ return(run_statements(['create schema if not exists networks', party_communities])) }}
{%- endmacro %}
