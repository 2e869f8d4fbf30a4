{#- Grain: one row per follow-up activity (stg_crm__activities.is_follow_up)
    on a person who belongs to a lead: the lead, when the follow-up happened
    (UTC) and who logged it. A duplicate contact's activities count for the
    lead it was merged into. -#}
with follow_ups as (
    select activity_id, contact_id, activity_type, owner_id, follow_up_at
    from {{ ref('stg_crm__activities') }}
    where is_follow_up and follow_up_at is not null
),

contacts as (
    select contact_id, lead_id
    from {{ ref('int_contacts_mapped_to_leads') }}
),

mapped as (
    select
        follow_ups.activity_id,
        contacts.lead_id,
        follow_ups.activity_type,
        follow_ups.owner_id,
        follow_ups.follow_up_at
    from follow_ups
    inner join contacts
        on contacts.contact_id = follow_ups.contact_id
)

select * from mapped
