{#- How staging applies the quality gate's verdicts (data-contracts.md s.3). -#}

{#- True when a record is not in quality.quarantine. -#}
{% macro not_quarantined(record_type, id_expression) -%}
    not exists (
        select 1
        from {{ source('quality', 'quarantine') }} as quarantined
        where quarantined.record_type = '{{ record_type }}'
            and quarantined.record_id = cast({{ id_expression }} as {{ dbt.type_string() }})
    )
{%- endmacro %}

{#- quality.normalised_values for one record type, one row per
    (record, field, original value). -#}
{% macro normalised_values_sql(record_type) -%}
    select
        record_id,
        field,
        original_value,
        max(normalised_value) as normalised_value
    from {{ source('quality', 'normalised_values') }}
    where record_type = '{{ record_type }}'
    group by record_id, field, original_value
{%- endmacro %}

{#- Left-join the normalised value of each field; a value is applied only while
    the raw value is still the one the gate normalised. -#}
{% macro join_normalised(source_alias, id_column, fields, normalised_cte='normalised') -%}
    {%- for field in fields %}
    left join {{ normalised_cte }} as n_{{ field }}
        on n_{{ field }}.record_id = cast({{ source_alias }}.{{ id_column }} as {{ dbt.type_string() }})
        and n_{{ field }}.field = '{{ field }}'
        and n_{{ field }}.original_value = {{ source_alias }}.{{ field }}
    {%- endfor %}
{%- endmacro %}

{% macro normalised(source_alias, field) -%}
    {{ lead_scoring.clean_text('coalesce(n_' ~ field ~ '.normalised_value, ' ~ source_alias ~ '.' ~ field ~ ')') }}
{%- endmacro %}
