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

{#- Each relation is read once: a CTE named twice would be materialised
    (all events, or the whole previous state, held at once). -#}
watermark as (
    select coalesce(max(load_watermark), 0) as load_watermark
    from {{ ref('int_events_unioned') }}
),

{%- if mode == 'carry' %}

previous_watermark as (
    select max(state_as_of_date) as state_as_of_date, max(load_watermark) as load_watermark
    from {{ this }}
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
        previous_state.last_occurred_at
    from {{ this }} as previous_state
    inner join event_weights
        on event_weights.event_type = previous_state.event_type
),

{%- endif %}

{#- Every score date in one pass over the events: a filtered aggregate per
    offset, unpivoted afterwards (one row per offset where it counted events). -#}
{%- set as_of_day = modules.datetime.date.fromisoformat(lead_scoring.as_of_date()) %}
{%- set offsets = lead_scoring.score_offsets() %}
{%- set conditions = {} %}
{%- for offset in offsets %}
    {%- set score_date = lead_scoring.date_literal(
        (as_of_day - modules.datetime.timedelta(days=offset)).isoformat()) %}
    {%- set condition -%}
        events.occurred_on <= {{ score_date }}
        {%- if mode == 'carry' %}
        and (events.occurred_on
                > {{ dbt.dateadd('day', -1 * offset, 'previous_watermark.state_as_of_date') }}
            or events.load_watermark > previous_watermark.load_watermark)
        {%- endif %}
    {%- endset %}
    {%- do conditions.update({offset: (condition, score_date)}) %}
{%- endfor %}

uncounted_events as (
    select events.*
    from events
    {%- if mode == 'carry' %}
    cross join previous_watermark
    {%- endif %}
    where
        {%- for offset in offsets %}
        ({{ conditions[offset][0] }})
        {%- if not loop.last %} or {% endif %}
        {%- endfor %}
),

new_decayed_wide as (
    select
        event_source,
        subject_id,
        event_type,
        {%- for offset in offsets %}
        {%- set condition, score_date = conditions[offset] %}
        sum(case when {{ condition }} then {{ lead_scoring.decay_factor(
            dbt.datediff('occurred_on', score_date, 'day'), 'half_life_days') }} end)
            as decayed_count_{{ offset }},
        count(case when {{ condition }} then 1 end) as event_count_{{ offset }},
        max(case when {{ condition }} then occurred_at end) as last_occurred_at_{{ offset }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from uncounted_events as events
    {%- if mode == 'carry' %}
    cross join previous_watermark
    {%- endif %}
    group by event_source, subject_id, event_type
),

new_decayed_long as (
    select
        wide.event_source,
        wide.subject_id,
        wide.event_type,
        score_dates.offset_days,
        {%- for column in ['decayed_count', 'event_count', 'last_occurred_at'] %}
        case score_dates.offset_days
            {%- for offset in offsets %}
            when {{ offset }} then wide.{{ column }}_{{ offset }}
            {%- endfor %}
        end as {{ column }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from new_decayed_wide as wide
    cross join score_dates
),

new_decayed as (
    select
        event_source,
        subject_id,
        event_type,
        offset_days,
        decayed_count,
        cast(event_count as bigint) as event_count,
        last_occurred_at
    from new_decayed_long
    where event_count > 0
),

{#- Carried rows and newly counted rows meet in a full outer join on the key
    (new rows are few on a nightly run); a rebuild has new rows only. -#}
combined as (
    {%- if mode == 'carry' %}
    select
        coalesce(new_decayed.event_source, previous_decayed.event_source) as event_source,
        coalesce(new_decayed.subject_id, previous_decayed.subject_id) as subject_id,
        coalesce(new_decayed.event_type, previous_decayed.event_type) as event_type,
        coalesce(new_decayed.offset_days, previous_decayed.offset_days) as offset_days,
        coalesce(new_decayed.decayed_count, 0) + coalesce(previous_decayed.decayed_count, 0)
            as decayed_count,
        coalesce(new_decayed.event_count, 0) + coalesce(previous_decayed.event_count, 0)
            as event_count,
        case
            when previous_decayed.last_occurred_at is null then new_decayed.last_occurred_at
            when new_decayed.last_occurred_at is null then previous_decayed.last_occurred_at
            else greatest(new_decayed.last_occurred_at, previous_decayed.last_occurred_at)
        end as last_occurred_at
    from previous_decayed
    full outer join new_decayed
        on new_decayed.event_source = previous_decayed.event_source
        and new_decayed.subject_id = previous_decayed.subject_id
        and new_decayed.event_type = previous_decayed.event_type
        and new_decayed.offset_days = previous_decayed.offset_days
    {%- else %}
    select * from new_decayed
    {%- endif %}
),

state as (
    select
        combined.event_source,
        combined.subject_id,
        combined.event_type,
        combined.offset_days,
        combined.decayed_count,
        cast(combined.event_count as bigint) as event_count,
        combined.last_occurred_at,
        {{ as_of }} as state_as_of_date,
        watermark.load_watermark,
        current_version.model_version,
        '{{ invocation_id }}' as state_run_id,
        '{{ mode }}' as state_built_by
    from combined
    cross join watermark
    cross join current_version
)

select * from state
