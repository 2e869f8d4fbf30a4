{#- What Apache Spark (dbt-spark) needs besides the portable SQL of the models. -#}

{#- Seeds: the column types in seeds/_seeds.yml are written for DuckDB and PostgreSQL;
    Spark calls varchar string. -#}
{% macro spark__create_csv_table(model, agate_table) %}
    {%- set types = model['config'].get('column_types', {}) -%}
    {%- for name, type in types.items() if type == 'varchar' -%}
        {%- do types.update({name: 'string'}) -%}
    {%- endfor -%}
    {{ return(dbt.spark__create_csv_table(model, agate_table)) }}
{% endmacro %}

{#- Emptying a table: Spark's Parquet tables take no delete, only truncate. -#}
{% macro empty_table(relation) -%}
    {{ return(adapter.dispatch('empty_table', 'lead_scoring')(relation)) }}
{%- endmacro %}

{% macro default__empty_table(relation) -%}
    delete from {{ relation }}
{%- endmacro %}

{% macro spark__empty_table(relation) -%}
    truncate table {{ relation }}
{%- endmacro %}

{#- The strategy of the models that replace their rows by key (delete+insert).
    Spark has no delete without Delta or Iceberg: there these models rebuild
    their state on every run (carried_state_mode says 'rebuild'), their
    pre-hook empties the table and the rows are appended. -#}
{% macro keyed_strategy() -%}
    {{ return('append' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}

{#- The models that keep a row set per as-of date (lead_score_history,
    lead_routing) and replace their as-of date's rows: by key (`strategy`)
    elsewhere, on Spark by overwriting that date's partition. -#}
{% macro dated_strategy(strategy) -%}
    {{ return('insert_overwrite' if target.type == 'spark' else strategy) }}
{%- endmacro %}

{% macro dated_partitions() -%}
    {{ return(['as_of_date'] if target.type == 'spark' else none) }}
{%- endmacro %}

{#- dbt.listagg on Spark ignores its order; the models' lists (reasons, the rule
    text model_version hashes) need it. `order_by_clause` is 'order by <column>'. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- set key = order_by_clause | trim | replace('order by ', '', 1) -%}
        array_join(transform(
            array_sort(collect_list(named_struct('k', {{ key }}, 'v', {{ measure }}))),
            item -> item.v), {{ delimiter_text }})
    {%- else -%}
        array_join(collect_list({{ measure }}), {{ delimiter_text }})
    {%- endif -%}
{%- endmacro %}

{#- Seed rows as literals: dbt-spark's session connection sends a missing value
    as the text 'None' and does not escape quotes. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set types = model['config'].get('column_types', {}) -%}
    {%- set column_types = [] -%}
    {%- for name in agate_table.column_names -%}
        {%- do column_types.append(types.get(name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {%- for row in chunk %}
            ({%- for value in row -%}
                cast({{ lead_scoring.spark_literal(value) }} as {{ column_types[loop.index0] }})
                {%- if not loop.last %}, {% endif -%}
            {%- endfor -%}){%- if not loop.last -%},{%- endif -%}
            {%- endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) if loop.first -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}

{% macro spark_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ (value | string).replace('\\', '\\\\').replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
