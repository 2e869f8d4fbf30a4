{#- Grain: one row per CRM company not in quarantine, as currently loaded.
    owner_id / has_owner: the account's CRM owner, as in stg_crm__contacts
    (null while the raw table has no hubspot_owner_id column). -#}
{%- set raw_companies = source('crm', 'crm_companies') -%}
{%- set raw_columns = lead_scoring.relation_columns(raw_companies) or [] -%}
with source as (
    select * from {{ raw_companies }}
),

normalised as (
    {{ lead_scoring.normalised_values_sql('company') }}
),

renamed as (
    select
        cast(source.hs_object_id as {{ dbt.type_string() }}) as account_id,
        {{ lead_scoring.normalised('source', 'name') }} as company_name,
        lower({{ lead_scoring.normalised('source', 'domain') }}) as domain,
        replace(lower({{ lead_scoring.normalised('source', 'industry') }}), ' ', '_') as industry,
        {{ lead_scoring.text_to_integer(lead_scoring.normalised('source', 'numberofemployees')) }}
            as employee_count,
        {{ lead_scoring.text_to_number(lead_scoring.normalised('source', 'annualrevenue')) }}
            as annual_revenue,
        upper({{ lead_scoring.normalised('source', 'country') }}) as country_code,
        lower({{ lead_scoring.clean_text('source.ls_target_account') }}) = 'true' as is_target_account,
        {{ lead_scoring.text_to_timestamp('source.createdate') }} as created_at,
        {{ lead_scoring.text_to_timestamp('source.lastmodifieddate') }} as updated_at,
        {{ lead_scoring.clean_text(lead_scoring.optional_column('source', 'hubspot_owner_id', raw_columns)) }}
            as owner_id
    from source
    {{ lead_scoring.join_normalised('source', 'hs_object_id',
        ['name', 'domain', 'industry', 'numberofemployees', 'annualrevenue', 'country']) }}
    where {{ lead_scoring.not_quarantined('company', 'source.hs_object_id') }}
),

owned as (
    select
        renamed.*,
        {{ lead_scoring.owner_is_set('owner_id') }} as has_owner
    from renamed
)

select * from owned
