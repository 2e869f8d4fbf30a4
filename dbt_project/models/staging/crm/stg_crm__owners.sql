{#- Grain: one row per CRM owner (HubSpot owner, Salesforce user), as last
    loaded. Empty while raw.crm_owners does not exist (a warehouse extracted
    before owners were read). is_unassigned marks the ids that mean "nobody
    yet" (lead_scoring__unassigned_owner_ids). -#}
{%- set raw_owners = lead_scoring.source_if_exists('crm', 'crm_owners') -%}
with source as (
    {%- if raw_owners is none %}
    {{ lead_scoring.empty_text_source(['id', 'email', 'first_name', 'last_name', 'is_active',
                                       'crm_object']) }}
    {%- else %}
    select * from {{ raw_owners }}
    {%- endif %}
),

renamed as (
    select
        {{ lead_scoring.clean_text('source.id') }} as owner_id,
        lower({{ lead_scoring.clean_text('source.email') }}) as email,
        {{ lead_scoring.clean_text('source.first_name') }} as first_name,
        {{ lead_scoring.clean_text('source.last_name') }} as last_name,
        coalesce(lower({{ lead_scoring.clean_text('source.is_active') }}) in ('true', 't', '1'), false)
            as is_active,
        {{ lead_scoring.clean_text('source.crm_object') }} as crm_object
    from source
),

flagged as (
    select
        renamed.*,
        {{ lead_scoring.owner_is_set('renamed.owner_id') }} = false as is_unassigned
    from renamed
    where renamed.owner_id is not null
)

select * from flagged
