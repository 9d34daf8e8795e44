{#-
  The sources as each engine reads them. DuckDB reads the tables in the warehouse file in place. Spark
  reads the Parquet copies the loader hands over (orchestration/engines/spark.py) under
  $CUSTOMS_SPARK_EXCHANGE/<schema>/<table>/: each table named in var `spark_sources` is registered in
  the metastore anew before a run (an external table: dropping it leaves the files), so a column the
  contract added is seen.
-#}
{% macro register_sources() -%}
    {{ return(adapter.dispatch('register_sources')()) }}
{%- endmacro %}

{% macro default__register_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_sources() -%}
    {%- if execute -%}
        {%- set root = env_var('CUSTOMS_SPARK_EXCHANGE') -%}
        {%- for name in var('spark_sources', []) -%}
            {%- set schema, table = name.split('.') -%}
            {%- do run_query('create database if not exists ' ~ schema) -%}
            {%- do run_query('drop table if exists ' ~ name) -%}
            {%- do run_query("create table " ~ name ~ " using parquet location '" ~ root ~ "/" ~ schema ~ "/" ~ table ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
