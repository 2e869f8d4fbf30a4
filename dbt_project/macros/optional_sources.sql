{#- Optional source tables: a table a warehouse may not have yet (e.g. raw
    attribute tables written by a newer extract). `source_if_exists` returns
    the relation when it exists, else none; the model then selects `empty_sql`
    instead, an empty relation with the same columns and types. The source()
    call stays unconditional, so the dependency is known at parse time. -#}
{% macro source_if_exists(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
{%- endmacro %}

{#- The raw attribute table shape (every column text, as dlt writes it), empty. -#}
{% macro empty_attribute_source() -%}
    select
        {%- for column in ['hs_object_id', 'attribute', 'value', 'kind', 'valid_from',
                           '_dlt_load_id', '_dlt_id'] %}
        cast(null as {{ dbt.type_string() }}) as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    where 1 = 0
{%- endmacro %}
