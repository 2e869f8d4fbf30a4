{#- Grain: one row per CRM contact not in quarantine, as currently loaded.
    Text cleaned, quality-gate normalisations applied, timestamps parsed. -#}
with source as (
    select * from {{ source('crm', 'crm_contacts') }}
),

normalised as (
    {{ lead_scoring.normalised_values_sql('contact') }}
),

renamed as (
    select
        cast(source.hs_object_id as {{ dbt.type_string() }}) as contact_id,
        lower({{ lead_scoring.normalised('source', 'email') }}) as email,
        {{ lead_scoring.normalised('source', 'jobtitle') }} as job_title,
        upper({{ lead_scoring.normalised('source', 'country') }}) as country_code,
        {{ lead_scoring.normalised('source', 'company') }} as company_name,
        {{ lead_scoring.clean_text('source.associatedcompanyid') }} as account_id,
        {{ lead_scoring.clean_text('source.hs_analytics_source') }} as lead_source,
        {{ lead_scoring.normalised('source', 'bant_budget') }} as bant_budget,
        {{ lead_scoring.normalised('source', 'bant_authority') }} as bant_authority,
        {{ lead_scoring.normalised('source', 'bant_need') }} as bant_need,
        {{ lead_scoring.normalised('source', 'bant_timeline') }} as bant_timeline,
        {{ lead_scoring.text_to_timestamp('source.createdate') }} as created_at,
        {{ lead_scoring.text_to_timestamp('source.lastmodifieddate') }} as updated_at
    from source
    {{ lead_scoring.join_normalised('source', 'hs_object_id',
        ['email', 'jobtitle', 'country', 'company',
         'bant_budget', 'bant_authority', 'bant_need', 'bant_timeline']) }}
    where {{ lead_scoring.not_quarantined('contact', 'source.hs_object_id') }}
),

with_domain as (
    select
        renamed.*,
        {{ dbt.split_part('email', "'@'", 2) }} as email_domain
    from renamed
)

select * from with_domain
