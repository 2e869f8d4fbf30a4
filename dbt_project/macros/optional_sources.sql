{#- Optional source tables: a table a warehouse may not have yet (e.g. raw
    attribute tables written by a newer extract). `source_if_exists` returns
    the relation when it exists, else none; the model then selects `empty_sql`
    instead, an empty relation with the same columns and types. The source()
    call stays unconditional, so the dependency is known at parse time. -#}
{% macro source_if_exists(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute or relation.is_cte -%}
        {#- parse time, or a unit test's fixture (which stands for the table) -#}
        {{ return(relation) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
{%- endmacro %}

{#- An empty relation of text `columns` (the shape dlt writes raw tables in). -#}
{% macro empty_text_source(columns) -%}
    select
        {%- for column in columns %}
        cast(null as {{ dbt.type_string() }}) as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    where 1 = 0
{%- endmacro %}

{#- The raw attribute table shape (every column text, as dlt writes it), empty. -#}
{% macro empty_attribute_source() -%}
    {{ lead_scoring.empty_text_source(['hs_object_id', 'attribute', 'value', 'kind', 'valid_from',
                                       '_dlt_load_id', '_dlt_id']) }}
{%- endmacro %}

{#- Optional columns: a raw table an older extract wrote may lack a column a
    newer one adds (e.g. hubspot_owner_id). `relation_columns` lists the
    relation's columns in lower case; it is none for a unit test's fixture,
    whose rows name the columns the test needs, and at parse time. -#}
{% macro relation_columns(relation) -%}
    {%- if not execute or relation is none or relation.is_cte -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}

{#- `alias.column_name` when the relation has the column (or its columns are
    unknown), else a typed null. -#}
{% macro optional_column(alias, column_name, columns) -%}
    {%- if columns is none or column_name in columns -%}
        {{ alias }}.{{ column_name }}
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{#- The staging of a raw attribute table (contact or company): its rows typed,
    for records not in quarantine, without empty values; `id_column` names the
    record id (contact_id / account_id). -#}
{% macro attribute_staging(table_name, id_column, record_type) -%}
{%- set raw_attributes = lead_scoring.source_if_exists('crm', table_name) %}
with source as (
    {%- if raw_attributes is none %}
    {{ lead_scoring.empty_attribute_source() }}
    {%- else %}
    select * from {{ raw_attributes }}
    {%- endif %}
),

renamed as (
    select
        cast(source.hs_object_id as {{ dbt.type_string() }}) as {{ id_column }},
        lower({{ lead_scoring.clean_text('source.attribute') }}) as attribute,
        {{ lead_scoring.clean_text('source.value') }} as value,
        lower({{ lead_scoring.clean_text('source.kind') }}) as attribute_kind,
        {{ lead_scoring.text_to_timestamp('source.valid_from') }} as valid_from,
        cast({{ lead_scoring.clean_text('source._dlt_load_id') }} as {{ lead_scoring.type_double() }})
            as load_id
    from source
    where {{ lead_scoring.not_quarantined(record_type, 'source.hs_object_id') }}
),

typed as (
    select
        {{ id_column }},
        attribute,
        value,
        {{ lead_scoring.text_to_number('value') }} as value_number,
        attribute_kind,
        valid_from,
        load_id
    from renamed
    where value is not null
        and attribute is not null
)

select * from typed
{%- endmacro %}
