{#- Grain: one row per CRM sales activity that is not deleted (Salesforce
    Task / Event, HubSpot call, email, meeting, task), on the person
    contact_id. Timestamps are read with their UTC offsets and kept in UTC.
    Empty while raw.crm_activities does not exist.
    Follow-up (docs/routing.md): a call, a sent email (status not
    'received'), a meeting, or a completed task (completed_at set or status
    COMPLETED). Its time: a meeting's start (occurred_at; its completed_at is
    its end); for any other activity completed_at when set (a Salesforce Task
    of any type - call, email, task - has only a date in occurred_at, its
    ActivityDate, and the time it was done in CompletedDateTime); else, for a
    task marked completed without one, its last modification; else
    occurred_at; else when it was created. -#}
{%- set raw_activities = lead_scoring.source_if_exists('crm', 'crm_activities') -%}
{%- set columns = lead_scoring.relation_columns(raw_activities) -%}
{%- set deleted_column = 'is_deleted' if columns is not none and 'is_deleted' in columns
    else ('_deleted' if columns is not none and '_deleted' in columns else none) -%}
with source as (
    {%- if raw_activities is none %}
    {{ lead_scoring.empty_text_source(['id', 'contact_id', 'crm_object', 'activity_type', 'subject',
                                       'status', 'occurred_at', 'completed_at', 'owner_id',
                                       'createdate', 'lastmodifieddate']) }}
    {%- else %}
    select * from {{ raw_activities }}
    {%- endif %}
),

renamed as (
    select
        {{ lead_scoring.clean_text('source.id') }} as activity_id,
        {{ lead_scoring.clean_text('source.contact_id') }} as contact_id,
        {{ lead_scoring.clean_text('source.crm_object') }} as crm_object,
        lower({{ lead_scoring.clean_text('source.activity_type') }}) as activity_type,
        {{ lead_scoring.clean_text(lead_scoring.optional_column('source', 'subject', columns)) }} as subject,
        {{ lead_scoring.clean_text('source.status') }} as status,
        {{ lead_scoring.text_to_utc_timestamp('source.occurred_at') }} as occurred_at,
        {{ lead_scoring.text_to_utc_timestamp(lead_scoring.optional_column('source', 'completed_at', columns)) }}
            as completed_at,
        {{ lead_scoring.clean_text(lead_scoring.optional_column('source', 'owner_id', columns)) }} as owner_id,
        {{ lead_scoring.text_to_utc_timestamp('source.createdate') }} as created_at,
        {{ lead_scoring.text_to_utc_timestamp('source.lastmodifieddate') }} as updated_at
    from source
    {%- if deleted_column is not none %}
    where not coalesce(lower(cast(source.{{ deleted_column }} as {{ dbt.type_string() }}))
        in ('true', 't', '1'), false)
    {%- endif %}
),

classified as (
    select
        renamed.*,
        coalesce(
            renamed.activity_type in ('call', 'meeting')
            or (renamed.activity_type = 'email' and coalesce(lower(renamed.status), '') <> 'received')
            or (renamed.activity_type = 'task'
                and (renamed.completed_at is not null or upper(renamed.status) = 'COMPLETED')),
            false
        ) as is_follow_up
    from renamed
    where renamed.activity_id is not null
),

follow_ups as (
    select
        classified.*,
        case
            when not classified.is_follow_up then null
            when classified.activity_type = 'meeting'
                then coalesce(classified.occurred_at, classified.created_at)
            when classified.completed_at is not null then classified.completed_at
            when classified.activity_type = 'task' then classified.updated_at
            else coalesce(classified.occurred_at, classified.created_at)
        end as follow_up_at
    from classified
)

select * from follow_ups
