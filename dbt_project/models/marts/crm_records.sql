{#- Grain: one row per lead in lead_scores: the CRM record its scores are
    written to, the lead's own contact row (lead_id is the surviving contact
    id). HubSpot: 'contacts' and the contact id; Salesforce: the Lead, or the
    Contact once the Lead is converted, and that record's Id. -#}
with scores as (
    select lead_id from {{ ref('lead_scores') }}
),

contacts as (
    select contact_id, crm_object, crm_record_id from {{ ref('stg_crm__contacts') }}
),

records as (
    select
        scores.lead_id,
        contacts.crm_object,
        contacts.crm_record_id
    from scores
    inner join contacts
        on contacts.contact_id = scores.lead_id
)

select * from records
