{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored(kind='profiles') }}"
) }}
{#- Grain: one row per lead as of the as-of date (offset_days 0), plus one
    per earlier score date (7 and 30 days before) where the lead's profile may
    differ from today's: it existed by the end of that day and one of its
    contact versions, or a version of a company it named, was recorded after
    that day, or a custom attribute of either became valid after that day.
    The same rows key int_lead_attributes_resolved. Every other lead had today's profile on those days too, and
    readers use the offset-0 row for them (int_lead_scores_combined).
    Progressive profiling: each field is the latest non-empty value recorded
    up to that day; a merged duplicate's values fill the survivor's gaps.
    <field>_updated_at says when the value used was recorded. An input model
    (macros/rescore.sql): nothing in a row depends on the as-of date but which
    versions it counts, so a later run carries the rows of a lead none of
    whose inputs is dated in a stretch its score dates slid over. -#}
{%- set contact_fields = ['email', 'email_domain', 'job_title', 'country_code', 'account_id',
                          'lead_source', 'bant_budget', 'bant_authority', 'bant_need',
                          'bant_timeline'] -%}
{%- set mode = lead_scoring.rescore_mode('profiles') -%}
{%- set company_fields = ['domain', 'industry', 'employee_count', 'annual_revenue',
                          'country_code', 'is_target_account'] -%}
with score_dates as (
    {{ lead_scoring.score_dates_sql() }}
),

mapped as (
    select * from {{ ref('int_contacts_mapped_to_leads') }}
    where {{ lead_scoring.only_rescored('lead_id', mode) }}
),

{#- When each company's profile or custom attributes last changed. -#}
account_changes as (
    select account_id, max(changed_at) as changed_at
    from (
        select account_id, updated_at as changed_at
        from {{ ref('int_company_versions_captured') }}
        union all
        select account_id, valid_from as changed_at
        from {{ ref('stg_crm__company_attributes') }}
        where valid_from is not null
    ) as changes
    group by account_id
),

{#- When each contact's custom attributes last changed. -#}
contact_attribute_changes as (
    select contact_id, max(valid_from) as changed_at
    from {{ ref('stg_crm__contact_attributes') }}
    where valid_from is not null
    group by contact_id
),

contact_versions as (
    select
        versions.*,
        mapped.lead_id,
        case when mapped.is_lead_record then 0 else 1 end as merge_rank,
        mapped.lead_created_at,
        row_number() over (
            partition by versions.contact_id order by versions.updated_at, versions.captured_at
        ) as version_number,
        {#- The latest change to anything the lead's profile reads. -#}
        max(greatest(
            versions.updated_at,
            coalesce(account_changes.changed_at, versions.updated_at),
            coalesce(contact_attribute_changes.changed_at, versions.updated_at)
        )) over (partition by mapped.lead_id) as profile_changed_at
    from {{ ref('int_contact_versions_captured') }} as versions
    inner join mapped
        on mapped.contact_id = versions.contact_id
    left join account_changes
        on account_changes.account_id = versions.account_id
    left join contact_attribute_changes
        on contact_attribute_changes.contact_id = versions.contact_id
),

{#- A version counts from the day it was recorded; a contact's first captured
    version also stands for the time between its creation and its capture.
    Earlier score dates only for leads whose profile changed since. -#}
contact_versions_known as (
    select
        contact_versions.*,
        score_dates.offset_days
    from contact_versions
    cross join score_dates
    where contact_versions.lead_created_at < score_dates.score_end_at
        and (score_dates.offset_days = 0
             or contact_versions.profile_changed_at >= score_dates.score_end_at)
        and (contact_versions.updated_at < score_dates.score_end_at
             or (contact_versions.version_number = 1
                 and coalesce(contact_versions.created_at, contact_versions.updated_at)
                     < score_dates.score_end_at))
),

lead_profiles as (
    {{ lead_scoring.latest_known_values('contact_versions_known', ['lead_id', 'offset_days'],
        contact_fields, 'merge_rank, updated_at desc, captured_at desc') }}
),

company_versions as (
    select
        versions.*,
        row_number() over (
            partition by versions.account_id order by versions.updated_at, versions.captured_at
        ) as version_number
    from {{ ref('int_company_versions_captured') }} as versions
    where versions.account_id in (
        select companies.account_id from {{ ref('stg_crm__companies') }} as companies
    )
    {%- if mode != 'all' %}
        and versions.account_id in (select contact_versions.account_id from contact_versions)
    {%- endif %}
),

company_versions_known as (
    select
        company_versions.*,
        score_dates.offset_days
    from company_versions
    cross join score_dates
    where company_versions.updated_at < score_dates.score_end_at
        or (company_versions.version_number = 1
            and coalesce(company_versions.created_at, company_versions.updated_at)
                < score_dates.score_end_at)
),

company_profiles as (
    {{ lead_scoring.latest_known_values('company_versions_known', ['account_id', 'offset_days'],
        company_fields, 'updated_at desc, captured_at desc') }}
),

leads as (
    select lead_id, lead_created_at from mapped where is_lead_record
),

joined as (
    select
        lead_profiles.lead_id,
        lead_profiles.offset_days,
        leads.lead_created_at,
        lead_profiles.email,
        lead_profiles.email_domain,
        lead_profiles.email_domain_updated_at,
        lead_profiles.job_title,
        lead_profiles.job_title_updated_at,
        coalesce(lead_profiles.country_code, company_profiles.country_code) as country_code,
        coalesce(lead_profiles.country_code_updated_at, company_profiles.country_code_updated_at)
            as country_code_updated_at,
        lead_profiles.account_id,
        lead_profiles.lead_source,
        lead_profiles.lead_source_updated_at,
        lead_profiles.bant_budget,
        lead_profiles.bant_budget_updated_at,
        lead_profiles.bant_authority,
        lead_profiles.bant_authority_updated_at,
        lead_profiles.bant_need,
        lead_profiles.bant_need_updated_at,
        lead_profiles.bant_timeline,
        lead_profiles.bant_timeline_updated_at,
        company_profiles.domain as company_domain,
        company_profiles.industry,
        company_profiles.industry_updated_at,
        cast(company_profiles.employee_count as bigint) as employee_count,
        company_profiles.employee_count_updated_at,
        cast(company_profiles.annual_revenue as {{ lead_scoring.type_double() }}) as annual_revenue,
        company_profiles.annual_revenue_updated_at,
        coalesce(company_profiles.is_target_account = 'true', false) as is_target_account,
        company_profiles.is_target_account_updated_at
    from lead_profiles
    inner join leads
        on leads.lead_id = lead_profiles.lead_id
    left join company_profiles
        on company_profiles.account_id = lead_profiles.account_id
        and company_profiles.offset_days = lead_profiles.offset_days
)

select * from joined
