{{ config(
    enabled=var('lead_scoring__using_marketing_events'),
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns'
) }}
{#- Grain: one row per marketing event not in quarantine. contact_id may name a
    contact the CRM does not know (such events never reach a lead). 
    Incremental: each run adds the events of loads it has not seen and those
    the quality gate released from the quarantine (macros/event_loads.sql). -#}
with source as (
    {{ lead_scoring.unseen_loads(source('marketing', 'marketing_events'), 'marketing_event') }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        {{ lead_scoring.clean_text('contact_id') }} as contact_id,
        lower({{ lead_scoring.clean_text('event_type') }}) as event_type,
        {{ lead_scoring.utc_timestamp(source('marketing', 'marketing_events'), 'occurred_at') }}
            as occurred_at,
        {{ lead_scoring.clean_text('url') }} as url,
        cast(_dlt_load_id as {{ lead_scoring.type_double() }}) as load_id
    from source
    where {{ lead_scoring.not_quarantined('marketing_event', 'event_id') }}
),

deduplicated as (
    {{ lead_scoring.first_load_of_each_event('renamed') }}
)

select event_id, contact_id, event_type, occurred_at, url, load_id,
    {{ lead_scoring.staged_watermark() }} as staged_watermark
from deduplicated
