{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    full_refresh=false
) }}
{#- Grain: one row per change of a company's values (enrichment history, so
    past as-of dates see the company as it was). -#}
with companies as (
    select * from {{ ref('stg_crm__companies') }}
),

captured as (
    {{ lead_scoring.capture_new_versions('companies', 'account_id',
        ['company_name', 'domain', 'industry', 'employee_count', 'country_code',
         'is_target_account', 'annual_revenue']) }}
)

select * from captured
