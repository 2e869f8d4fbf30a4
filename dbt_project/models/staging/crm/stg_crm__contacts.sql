{#- Grain: one row per CRM contact (person) not in quarantine, as currently loaded.
    Text cleaned, quality-gate normalisations applied, timestamps parsed.
    crm_object / crm_record_id: the CRM record the person is now. A raw table
    without these columns (read from HubSpot, or imported) gives HubSpot's
    'contacts' and the contact id, and its SQL is otherwise unchanged. With them
    (read from Salesforce), an open Lead, which names no account, gets the one
    account whose domain is its e-mail's domain when exactly one has it.
    owner_id: the CRM owner (hubspot_owner_id; Salesforce OwnerId), null while
    the raw table has no such column; has_owner: it names a real owner, not
    one of lead_scoring__unassigned_owner_ids. -#}
{%- set raw_contacts = source('crm', 'crm_contacts') -%}
{%- set companies = ref('stg_crm__companies') -%}
{%- set raw_columns = lead_scoring.relation_columns(raw_contacts) or [] -%}
{%- set has_crm_record = 'crm_object' in raw_columns -%}
{%- set email_domain = dbt.split_part(
    'lower(' ~ lead_scoring.normalised('source', 'email') ~ ')', "'@'", 2) -%}
with source as (
    select * from {{ raw_contacts }}
),

normalised as (
    {{ lead_scoring.normalised_values_sql('contact') }}
),

{%- if has_crm_record %}

{#- Accounts by domain, for domains exactly one account has. -#}
domain_accounts as (
    select domain, min(account_id) as account_id
    from {{ companies }}
    where domain is not null
    group by domain
    having count(*) = 1
),
{%- endif %}

renamed as (
    select
        cast(source.hs_object_id as {{ dbt.type_string() }}) as contact_id,
        lower({{ lead_scoring.normalised('source', 'email') }}) as email,
        {{ lead_scoring.normalised('source', 'jobtitle') }} as job_title,
        upper({{ lead_scoring.normalised('source', 'country') }}) as country_code,
        {{ lead_scoring.normalised('source', 'company') }} as company_name,
        {%- if has_crm_record %}
        coalesce({{ lead_scoring.clean_text('source.associatedcompanyid') }},
                 domain_accounts.account_id) as account_id,
        {%- else %}
        {{ lead_scoring.clean_text('source.associatedcompanyid') }} as account_id,
        {%- endif %}
        {{ lead_scoring.clean_text('source.hs_analytics_source') }} as lead_source,
        {{ lead_scoring.normalised('source', 'bant_budget') }} as bant_budget,
        {{ lead_scoring.normalised('source', 'bant_authority') }} as bant_authority,
        {{ lead_scoring.normalised('source', 'bant_need') }} as bant_need,
        {{ lead_scoring.normalised('source', 'bant_timeline') }} as bant_timeline,
        {{ lead_scoring.text_to_timestamp('source.createdate') }} as created_at,
        {{ lead_scoring.text_to_timestamp('source.lastmodifieddate') }} as updated_at,
        {{ lead_scoring.clean_text(lead_scoring.optional_column('source', 'hubspot_owner_id', raw_columns)) }}
            as owner_id,
        {%- if has_crm_record %}
        coalesce({{ lead_scoring.clean_text('source.crm_object') }}, 'contacts') as crm_object,
        coalesce({{ lead_scoring.clean_text('source.crm_record_id') }},
                 cast(source.hs_object_id as {{ dbt.type_string() }})) as crm_record_id
        {%- else %}
        'contacts' as crm_object,
        cast(source.hs_object_id as {{ dbt.type_string() }}) as crm_record_id
        {%- endif %}
    from source
    {{ lead_scoring.join_normalised('source', 'hs_object_id',
        ['email', 'jobtitle', 'country', 'company',
         'bant_budget', 'bant_authority', 'bant_need', 'bant_timeline']) }}
    {%- if has_crm_record %}
    left join domain_accounts
        on source.crm_object = 'Lead'
        and {{ lead_scoring.clean_text('source.associatedcompanyid') }} is null
        and domain_accounts.domain = {{ email_domain }}
    {%- endif %}
    where {{ lead_scoring.not_quarantined('contact', 'source.hs_object_id') }}
),

with_domain as (
    select
        renamed.*,
        {{ dbt.split_part('email', "'@'", 2) }} as email_domain,
        {{ lead_scoring.owner_is_set('owner_id') }} as has_owner
    from renamed
)

select * from with_domain
