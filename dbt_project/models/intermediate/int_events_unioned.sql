{#- Grain: one row per clean product or marketing event. subject_id is who did
    it in the source system (product user id / CRM contact id); it is resolved
    to a lead after decay (int_event_subjects_resolved), so the carried decay
    state does not depend on identity resolution. -#}
{%- set using_product = var('lead_scoring__using_product_events') -%}
{%- set using_marketing = var('lead_scoring__using_marketing_events') -%}
with
{%- if using_product %}
product_events as (
    select
        'product' as event_source,
        event_id,
        user_id as subject_id,
        event_type,
        occurred_at,
        load_id,
        staged_watermark
    from {{ ref('stg_product__events') }}
),
{%- endif %}

{%- if using_marketing %}
marketing_events as (
    select
        'marketing' as event_source,
        event_id,
        contact_id as subject_id,
        event_type,
        occurred_at,
        load_id,
        staged_watermark
    from {{ ref('stg_marketing__events') }}
),
{%- endif %}

unioned as (
    {%- if using_product %}
    select * from product_events
    {%- endif %}
    {%- if using_product and using_marketing %}
    union all
    {%- endif %}
    {%- if using_marketing %}
    select * from marketing_events
    {%- endif %}
    {%- if not using_product and not using_marketing %}
    select
        cast(null as {{ dbt.type_string() }}) as event_source,
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ dbt.type_string() }}) as subject_id,
        cast(null as {{ dbt.type_string() }}) as event_type,
        cast(null as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(null as {{ lead_scoring.type_double() }}) as load_id,
        cast(null as {{ lead_scoring.type_double() }}) as staged_watermark
    where 1 = 0
    {%- endif %}
),

dated as (
    select
        unioned.*,
        cast(unioned.occurred_at as date) as occurred_on,
        {#- When the event reached staging (older staged rows: their load). -#}
        coalesce(unioned.staged_watermark, unioned.load_id, 0) as load_watermark
    from unioned
    where unioned.subject_id is not null
        and unioned.occurred_at is not null
)

select * from dated
