{#- Grain: one row per contact, attribute and valid_from (the attribute's
    history), for contacts not in quarantine; rows with an empty value are
    dropped. value_number is the value as a number when it reads as one.
    A warehouse without raw.crm_contact_attributes (it predates them) gets an
    empty relation of the same shape. -#}
{%- set raw_attributes = lead_scoring.source_if_exists('crm', 'crm_contact_attributes') %}
with source as (
    {%- if raw_attributes is none %}
    {{ lead_scoring.empty_attribute_source() }}
    {%- else %}
    select * from {{ raw_attributes }}
    {%- endif %}
),

renamed as (
    select
        cast(source.hs_object_id as {{ dbt.type_string() }}) as contact_id,
        lower({{ lead_scoring.clean_text('source.attribute') }}) as attribute,
        {{ lead_scoring.clean_text('source.value') }} as value,
        lower({{ lead_scoring.clean_text('source.kind') }}) as attribute_kind,
        {{ lead_scoring.text_to_timestamp('source.valid_from') }} as valid_from,
        cast({{ lead_scoring.clean_text('source._dlt_load_id') }} as {{ lead_scoring.type_double() }})
            as load_id
    from source
    where {{ lead_scoring.not_quarantined('contact', 'source.hs_object_id') }}
),

typed as (
    select
        contact_id,
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
