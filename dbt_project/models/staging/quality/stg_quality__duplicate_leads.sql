{#- Grain: one row per duplicate contact, with the contact it merges into
    (the latest gate run's verdict wins when runs disagree). -#}
with source as (
    select * from {{ source('quality', 'duplicate_leads') }}
),

ranked as (
    select
        cast(record_id as {{ dbt.type_string() }}) as contact_id,
        cast(survivor_id as {{ dbt.type_string() }}) as survivor_contact_id,
        row_number() over (
            partition by record_id order by run_id desc, survivor_id asc
        ) as verdict_rank
    from source
    where record_id <> survivor_id
)

select contact_id, survivor_contact_id
from ranked
where verdict_rank = 1
