{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    post_hook="delete from {{ this }} where state_run_id <> '{{ invocation_id }}'"
) }}
{#- Grain: one row per event subject (source, subject_id), event type and score
    offset (the as-of date and 7 and 30 days before it): the decayed count of
    its events, sum of 0.5 ^ (age_days / half_life_days), weight-free.

    Incremental by composition: the decayed sum at date A equals the sum at an
    earlier date A0 times 0.5 ^ ((A - A0) / half-life), plus the decayed new
    events. A run reads the previous state and only the events it has not
    counted yet: those that occurred after the previous score date, or that
    were loaded after its load watermark (late arrivals). When the previous
    state cannot be carried (later as-of date, other rules, first run,
    --full-refresh) every event is read. The post-hook keeps only this run's
    rows, so the table always holds exactly one state. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set mode = event_state_mode(ref('int_scoring_rules_versioned')) -%}
with score_dates as (
    {{ lead_scoring.score_dates_sql() }}
),

event_weights as (
    select event_type, half_life_days from {{ ref('event_weights') }}
),

current_version as (
    select model_version from {{ ref('int_scoring_rules_versioned') }}
),

events as (
    select
        events.event_source,
        events.subject_id,
        events.event_type,
        events.occurred_at,
        events.occurred_on,
        events.load_watermark,
        event_weights.half_life_days
    from {{ ref('int_events_unioned') }} as events
    inner join event_weights
        on event_weights.event_type = events.event_type
),

watermark as (
    select coalesce(max(load_watermark), 0) as load_watermark from events
),

{%- if mode == 'carry' %}

previous_state as (
    select * from {{ this }}
),

previous_watermark as (
    select max(state_as_of_date) as state_as_of_date, max(load_watermark) as load_watermark
    from previous_state
),

previous_decayed as (
    select
        previous_state.event_source,
        previous_state.subject_id,
        previous_state.event_type,
        previous_state.offset_days,
        previous_state.decayed_count * {{ lead_scoring.decay_factor(
            dbt.datediff('previous_state.state_as_of_date', as_of, 'day'),
            'event_weights.half_life_days') }} as decayed_count,
        previous_state.event_count,
        previous_state.first_occurred_at,
        previous_state.last_occurred_at
    from previous_state
    inner join event_weights
        on event_weights.event_type = previous_state.event_type
),

uncounted_events as (
    select
        events.*,
        score_dates.offset_days,
        score_dates.score_date
    from events
    cross join previous_watermark
    inner join score_dates
        on events.occurred_on <= score_dates.score_date
    where events.occurred_on
            > {{ dbt.dateadd('day', '-1 * score_dates.offset_days', 'previous_watermark.state_as_of_date') }}
        or events.load_watermark > previous_watermark.load_watermark
),

{%- else %}

uncounted_events as (
    select
        events.*,
        score_dates.offset_days,
        score_dates.score_date
    from events
    inner join score_dates
        on events.occurred_on <= score_dates.score_date
),

{%- endif %}

new_decayed as (
    select
        event_source,
        subject_id,
        event_type,
        offset_days,
        sum({{ lead_scoring.decay_factor(dbt.datediff('occurred_on', 'score_date', 'day'),
                                         'half_life_days') }}) as decayed_count,
        cast(count(*) as bigint) as event_count,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at
    from uncounted_events
    group by event_source, subject_id, event_type, offset_days
),

combined as (
    select * from new_decayed
    {%- if mode == 'carry' %}
    union all
    select * from previous_decayed
    {%- endif %}
),

state as (
    select
        combined.event_source,
        combined.subject_id,
        combined.event_type,
        combined.offset_days,
        sum(combined.decayed_count) as decayed_count,
        cast(sum(combined.event_count) as bigint) as event_count,
        min(combined.first_occurred_at) as first_occurred_at,
        max(combined.last_occurred_at) as last_occurred_at,
        {{ as_of }} as state_as_of_date,
        max(watermark.load_watermark) as load_watermark,
        max(current_version.model_version) as model_version,
        '{{ invocation_id }}' as state_run_id,
        '{{ mode }}' as state_built_by
    from combined
    cross join watermark
    cross join current_version
    group by combined.event_source, combined.subject_id, combined.event_type, combined.offset_days
)

select * from state
