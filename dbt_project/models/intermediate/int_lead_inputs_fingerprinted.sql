{{ config(materialized='table') }}
{#- Grain: one row per lead: a digest of every input its lead-level rows read
    besides the rules (model_version) and the decay state (whose rows carry the
    load watermark they were written at): its contacts and how they map to it,
    their captured profile versions and custom attributes, the e-mail domain
    types and the companies those versions name (company versions, attributes,
    whether the company is clean), their deals, and the event subjects that
    resolve to it. int_leads_to_rescore compares it with the digest the last
    completed scoring recorded (int_lead_inputs_scored). -#}
{%- set fp = lead_scoring.fingerprint_text -%}
with mapped as (
    select * from {{ ref('int_contacts_mapped_to_leads') }}
),

contact_versions as (
    select * from {{ ref('int_contact_versions_captured') }}
),

company_inputs as (
    select account_id, {{ lead_scoring.fingerprint_agg('item') }} as account_fingerprint
    from (
        select account_id,
            {{ fp(["'v'", 'row_hash', 'captured_at', 'created_at', 'updated_at']) }} as item
        from {{ ref('int_company_versions_captured') }}
        union all
        {{ lead_scoring.attribute_items(ref('stg_crm__company_attributes'), 'account_id') }}
        union all
        select account_id, {{ fp(["'c'", 'created_at']) }} as item
        from {{ ref('stg_crm__companies') }}
    ) as items
    group by account_id
),

contact_items as (
    select contact_versions.contact_id,
        {{ fp(["'v'", 'contact_versions.row_hash', 'contact_versions.captured_at',
               'contact_versions.created_at', 'contact_versions.updated_at',
               'email_domains.email_domain_type']) }} as item
    from contact_versions
    left join {{ ref('stg_quality__email_domains') }} as email_domains
        on email_domains.email_domain = contact_versions.email_domain
    union all
    select named.contact_id,
        {{ fp(["'n'", 'named.account_id', 'company_inputs.account_fingerprint']) }} as item
    from (select distinct contact_id, account_id from contact_versions) as named
    left join company_inputs
        on company_inputs.account_id = named.account_id
    union all
    {{ lead_scoring.attribute_items(ref('stg_crm__contact_attributes'), 'contact_id') }}
    union all
    select contact_id,
        {{ fp(["'d'", 'deal_id', 'deal_stage', 'created_at', 'closed_at', 'updated_at']) }} as item
    from {{ ref('stg_crm__deals') }}
),

lead_items as (
    select lead_id,
        {{ fp(["'m'", 'contact_id', 'is_lead_record', 'lead_created_at']) }} as item
    from mapped
    union all
    select mapped.lead_id, contact_items.item
    from contact_items
    inner join mapped
        on mapped.contact_id = contact_items.contact_id
    union all
    select lead_id, {{ fp(["'s'", 'event_source', 'subject_id']) }} as item
    from {{ ref('int_event_subjects_resolved') }}
),

fingerprinted as (
    select lead_id, {{ lead_scoring.fingerprint_agg('item') }} as input_fingerprint
    from lead_items
    group by lead_id
)

select * from fingerprinted
