{#- Grain: one row per CRM contact or company that has a real owner in the CRM
    (stg_crm__contacts / stg_crm__companies has_owner): the owner and the
    roster rep whose crm_owner_id it is (int_sales_reps_resolved: the seed's id
    or the owner with the rep's e-mail; null when no rep has it). record_id
    is the contact id (a lead's id is its surviving contact's) or the account
    id. -#}
with owned_records as (
    select 'contact' as record_type, contact_id as record_id, owner_id
    from {{ ref('stg_crm__contacts') }}
    where has_owner
    union all
    select 'company' as record_type, account_id as record_id, owner_id
    from {{ ref('stg_crm__companies') }}
    where has_owner
),

rep_owner_ids as (
    select
        crm_owner_id,
        min(rep_id) as rep_id
    from {{ ref('int_sales_reps_resolved') }}
    where crm_owner_id is not null
    group by crm_owner_id
),

mapped as (
    select
        owned_records.record_type,
        owned_records.record_id,
        owned_records.owner_id,
        rep_owner_ids.rep_id
    from owned_records
    left join rep_owner_ids
        on rep_owner_ids.crm_owner_id = owned_records.owner_id
)

select * from mapped
