{{ config(
    enabled=var('lead_scoring__using_product_events'),
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns'
) }}
{#- Grain: one row per product event not in quarantine. load_id is dlt's load
    id (a Unix time) as a number: it tells events loaded late from the rest. 
    Incremental: each run adds the events of loads it has not seen and those
    the quality gate released from the quarantine (macros/event_loads.sql). -#}
with source as (
    {{ lead_scoring.unseen_loads(source('product', 'product_events'), 'product_event') }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        lower({{ lead_scoring.clean_text('event_type') }}) as event_type,
        {{ lead_scoring.utc_timestamp(source('product', 'product_events'), 'occurred_at') }}
            as occurred_at,
        cast(_dlt_load_id as {{ lead_scoring.type_double() }}) as load_id
    from source
    where {{ lead_scoring.not_quarantined('product_event', 'event_id') }}
),

deduplicated as (
    {{ lead_scoring.first_load_of_each_event('renamed') }}
)

select event_id, user_id, event_type, occurred_at, load_id,
    {{ lead_scoring.staged_watermark() }} as staged_watermark
from deduplicated
