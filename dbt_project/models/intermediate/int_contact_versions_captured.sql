{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    full_refresh=false
) }}
{#- Grain: one row per change of a contact's profile values
    (progressive-profiling history; see macro capture_new_versions). -#}
with contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

captured as (
    {{ lead_scoring.capture_new_versions('contacts', 'contact_id',
        ['email', 'job_title', 'country_code', 'company_name', 'account_id',
         'bant_budget', 'bant_authority', 'bant_need', 'bant_timeline', 'lead_source']) }}
)

select * from captured
