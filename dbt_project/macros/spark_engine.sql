{#-
  The sources as each engine reads them. DuckDB reads the tables in the warehouse file in place. Spark
  reads the Parquet copies handed over before each run (orchestration/engines/spark.py) under the
  exchange folder (var customs_spark_exchange, else $CUSTOMS_SPARK_EXCHANGE), `<schema>/<table>/`: each
  table named in $CUSTOMS_SPARK_SOURCES (comma-separated `schema.table`) is registered in the metastore
  anew before a run (an external table: dropping it leaves the files), so a column the contract added
  is seen.
-#}
{% macro register_sources() -%}
    {{ return(adapter.dispatch('register_sources')()) }}
{%- endmacro %}

{% macro default__register_sources() -%}
    select 1
{%- endmacro %}

{% macro spark__register_sources() -%}
    {%- if execute -%}
        {%- set root = var('customs_spark_exchange', env_var('CUSTOMS_SPARK_EXCHANGE', '../var/spark/exchange')) -%}
        {%- set names = env_var('CUSTOMS_SPARK_SOURCES', '').split(',') | reject('equalto', '') | list -%}
        {%- set schemas = [] -%}
        {%- for name in names if name.split('.')[0] not in schemas -%}
            {%- do schemas.append(name.split('.')[0]) -%}
            {%- do run_query('create database if not exists ' ~ schemas[-1]) -%}
        {%- endfor -%}
        {%- for name in names -%}
            {%- set schema, table = name.split('.') -%}
            {%- do run_query('drop table if exists ' ~ name) -%}
            {%- do run_query("create table " ~ name ~ " using parquet location '" ~ root ~ "/" ~ schema ~ "/" ~ table ~ "'") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#-
  The other way: after a Spark run, the columns of every table a model or seed built (in Spark's types, in the
  table's order), written to `main.dbt_relation_columns` (Parquet), from which the orchestration makes
  views over Spark's tables in the DuckDB file for the Python assets and the publication. The Parquet
  files alone cannot say it: an empty partitioned table has none.
-#}
{% macro record_relation_columns() -%}
    {{ return(adapter.dispatch('record_relation_columns')()) }}
{%- endmacro %}

{% macro default__record_relation_columns() -%}
    select 1
{%- endmacro %}

{% macro spark__record_relation_columns() -%}
    {%- set rows = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type in ('model', 'seed') and node.config.materialized in ('table', 'incremental', 'seed') -%}
            {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
            {%- if relation is not none -%}
                {%- for column in adapter.get_columns_in_relation(relation) -%}
                    {%- do rows.append("('" ~ node.schema ~ "', '" ~ node.alias ~ "', " ~ loop.index ~ ", '"
                        ~ column.name ~ "', '" ~ column.dtype ~ "')") -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set statements = [
        'create database if not exists main',
        'create table if not exists main.dbt_relation_columns (schema_name string, table_name string,
            position int, column_name string, data_type string) using parquet',
    ] -%}
    {#- always overwritten: rows of an earlier run would describe tables that are gone -#}
    {%- if rows -%}
        {%- do statements.append('insert overwrite table main.dbt_relation_columns values ' ~ rows | join(', ')) -%}
    {%- else -%}
        {%- do statements.append("insert overwrite table main.dbt_relation_columns select '', '', 0, '', '' where 1 = 0") -%}
    {%- endif -%}
    {{ return(run_statements(statements)) }}
{%- endmacro %}

{#-
  Publication on Spark (`dbt run-operation register_published`, called by the asset published/marts):
  the published version's Parquet files become the metastore's `published` tables, which a BI tool
  reads over the Thrift server. Each table is replaced in turn, pointing at the immutable version
  folder, never at files that change.
-#}
{% macro register_published(folder, tables) -%}
    {%- do run_query('create database if not exists published') -%}
    {%- for table in tables -%}
        {%- do run_query('drop table if exists published.' ~ table) -%}
        {%- do run_query("create table published." ~ table ~ " using parquet location '" ~ folder ~ "/parquet/" ~ table ~ ".parquet'") -%}
    {%- endfor -%}
    {%- do log('registered ' ~ tables | length ~ ' published tables from ' ~ folder, info=true) -%}
{%- endmacro %}
