{{ config(enabled=var('lead_scoring__using_product_events')) }}
{#- Grain: one row per product event not in quarantine. load_id is dlt's load
    id (a Unix time) as a number: it tells events loaded late from the rest. -#}
with source as (
    select * from {{ source('product', 'product_events') }}
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

select event_id, user_id, event_type, occurred_at, load_id
from deduplicated
where copy_number = 1
