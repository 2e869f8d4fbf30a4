{#- Grain: one row per CRM deal not in quarantine. created_at is the SQL date
    (the lead agreed to talk to sales); closed_at is empty while open. -#}
with source as (
    select * from {{ source('crm', 'crm_deals') }}
),

renamed as (
    select
        cast(hs_object_id as {{ dbt.type_string() }}) as deal_id,
        {{ lead_scoring.clean_text('ls_contact_id') }} as contact_id,
        {{ lead_scoring.clean_text('associatedcompanyid') }} as account_id,
        lower({{ lead_scoring.clean_text('dealstage') }}) as deal_stage,
        {{ lead_scoring.text_to_timestamp('createdate') }} as created_at,
        {{ lead_scoring.text_to_timestamp('closedate') }} as closed_at,
        {{ lead_scoring.text_to_timestamp('lastmodifieddate') }} as updated_at
    from source
    where {{ lead_scoring.not_quarantined('deal', 'hs_object_id') }}
)

select * from renamed
