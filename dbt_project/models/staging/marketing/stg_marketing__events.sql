{{ config(enabled=var('lead_scoring__using_marketing_events')) }}
{#- Grain: one row per marketing event not in quarantine. contact_id may name a
    contact the CRM does not know (such events never reach a lead). -#}
with source as (
    select * from {{ source('marketing', 'marketing_events') }}
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

{#- An event appended twice (a retried load) counts once: the first load wins,
    so the incremental decay state never counts it again. -#}
deduplicated as (
    select
        renamed.*,
        row_number() over (
            partition by renamed.event_id order by renamed.load_id, renamed.occurred_at
        ) as copy_number
    from renamed
)

select event_id, contact_id, event_type, occurred_at, url, load_id
from deduplicated
where copy_number = 1
