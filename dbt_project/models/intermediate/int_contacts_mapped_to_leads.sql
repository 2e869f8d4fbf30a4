{#- Grain: one row per clean contact, with the lead it belongs to: itself, or
    the survivor it was merged into (quality.duplicate_leads). A contact whose
    survivor is quarantined or itself a duplicate belongs to no lead. -#}
with contacts as (
    select contact_id, coalesce(created_at, updated_at) as created_at
    from {{ ref('stg_crm__contacts') }}
),

duplicates as (
    select * from {{ ref('stg_quality__duplicate_leads') }}
),

mapped as (
    select
        contacts.contact_id,
        coalesce(duplicates.survivor_contact_id, contacts.contact_id) as lead_id
    from contacts
    left join duplicates
        on duplicates.contact_id = contacts.contact_id
),

resolved as (
    select
        mapped.contact_id,
        mapped.lead_id,
        mapped.contact_id = mapped.lead_id as is_lead_record,
        survivors.created_at as lead_created_at
    from mapped
    inner join contacts as survivors
        on survivors.contact_id = mapped.lead_id
    where mapped.lead_id not in (select duplicates.contact_id from duplicates)
)

select * from resolved
