{{ config(
    materialized='incremental',
    incremental_strategy=lead_scoring.keyed_strategy(),
    unique_key=['event_source', 'subject_id', 'event_type'],
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_state_for_rebuild(
        event_state_mode(ref('int_scoring_rules_versioned'), announce=false)) }}"
) }}
{#- Grain: one row per event subject (source, subject_id) and event type, plus
    one bookkeeping row (event_source '_state'): the state's as-of date, load
    watermark, landmark date and rules.

    Forward decay: a row keeps, for each score date (the as-of date and 7 and
    30 days before it: landmark_count_0, _7, _30), the sum over the events up
    to that date of 0.5 ^ ((landmark_date - occurred_on) / half_life_days),
    weight-free (null: no event yet), and for the as-of date also the event
    count and the last event time (the earlier score dates feed only the 7-
    and 30-day gains). The decayed count at a score date d is its
    landmark_count times 0.5 ^ ((d - landmark_date) / half_life_days), computed
    where it is read
    (int_lead_event_points_capped). A row therefore changes only when its
    subject has new events: a nightly run reads only the events it has not
    counted yet (occurred after the previous score date, or loaded after the
    previous load watermark: late arrivals) and replaces just the rows they
    touch (delete+insert on the key). The landmark is the as-of date of the
    last rebuild. The state is rebuilt from every event on the first run, on
    --full-refresh, for an earlier as-of date, under other rules, and once its
    landmark is a year old (macros/carried_state.sql). -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set marker = lead_scoring.state_marker() -%}
{%- set mode = event_state_mode(ref('int_scoring_rules_versioned')) -%}
with event_weights as (
    select event_type, event_type_number, half_life_days
    from ({{ lead_scoring.numbered_event_weights() }}) as numbered
),

current_version as (
    select model_version from {{ ref('int_scoring_rules_versioned') }}
),

{#- Each relation is read once: a CTE named twice would be materialised
    (all events, or the whole previous state, held at once). -#}
watermark as (
    select coalesce(max(load_watermark), 0) as load_watermark
    from {{ ref('int_events_unioned') }}
),

previous_marker as (
    {%- if mode == 'carry' %}
    select state_as_of_date, load_watermark, landmark_date
    from {{ this }}
    where event_source = '{{ marker }}'
    {%- else %}
    select {{ as_of }} as landmark_date
    {%- endif %}
),

events as (
    select
        events.event_source,
        events.subject_id,
        event_weights.event_type_number,
        events.occurred_at,
        events.occurred_on,
        events.load_watermark,
        event_weights.half_life_days
    from {{ ref('int_events_unioned') }} as events
    inner join event_weights
        on event_weights.event_type = events.event_type
),

{#- Every score date in one pass over the events: a filtered aggregate per
    offset, side by side in the subject's row. -#}
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
                > {{ dbt.dateadd('day', -1 * offset, 'previous_marker.state_as_of_date') }}
            or events.load_watermark > previous_marker.load_watermark)
        {%- endif %}
    {%- endset %}
    {%- do conditions.update({offset: condition}) %}
{%- endfor %}

uncounted_events as (
    select
        events.*,
        {{ lead_scoring.decay_factor(dbt.datediff('events.occurred_on', 'previous_marker.landmark_date', 'day'),
            'events.half_life_days') }} as landmark_weight
    from events
    cross join previous_marker
    where
        {%- for offset in offsets %}
        ({{ conditions[offset] }})
        {%- if not loop.last %} or {% endif %}
        {%- endfor %}
),

new_counts as (
    select
        event_source,
        subject_id,
        event_type_number,
        {%- for offset in offsets %}
        sum(case when {{ conditions[offset] }} then landmark_weight end) as landmark_count_{{ offset }},
        {%- endfor %}
        count(case when {{ conditions[0] }} then 1 end) as event_count_0,
        max(case when {{ conditions[0] }} then occurred_at end) as last_occurred_at_0
    from uncounted_events as events
    cross join previous_marker
    group by event_source, subject_id, event_type_number
),

{#- A carried run adds the new counts to the rows they touch; the untouched
    rows stay in the table as they are. A count is null where its score date
    counted no event yet: null plus a count is that count. -#}
combined as (
    select
        new_counts.event_source,
        new_counts.subject_id,
        event_weights.event_type,
        new_counts.event_type_number,
        {%- for offset in offsets %}
        {%- if mode == 'carry' %}
        coalesce(new_counts.landmark_count_{{ offset }} + previous_state.landmark_count_{{ offset }},
                 new_counts.landmark_count_{{ offset }}, previous_state.landmark_count_{{ offset }})
            as landmark_count_{{ offset }},
        {%- else %}
        new_counts.landmark_count_{{ offset }},
        {%- endif %}
        {%- endfor %}
        {%- if mode == 'carry' %}
        new_counts.event_count_0 + coalesce(previous_state.event_count, 0) as event_count,
        case
            when new_counts.last_occurred_at_0 is null
                or previous_state.last_occurred_at > new_counts.last_occurred_at_0
                then previous_state.last_occurred_at
            else new_counts.last_occurred_at_0
        end as last_occurred_at
    from new_counts as new_counts
    inner join event_weights
        on event_weights.event_type_number = new_counts.event_type_number
    left join {{ this }} as previous_state
        on previous_state.event_source = new_counts.event_source
        and previous_state.subject_id = new_counts.subject_id
        and previous_state.event_type = event_weights.event_type
        {%- else %}
        new_counts.event_count_0 as event_count,
        new_counts.last_occurred_at_0 as last_occurred_at
    from new_counts as new_counts
    inner join event_weights
        on event_weights.event_type_number = new_counts.event_type_number
        {%- endif %}

    union all

    select
        '{{ marker }}' as event_source,
        '{{ marker }}' as subject_id,
        '{{ marker }}' as event_type,
        0 as event_type_number,
        {%- for offset in offsets %}
        cast(null as {{ lead_scoring.type_double() }}) as landmark_count_{{ offset }},
        {%- endfor %}
        cast(null as bigint) as event_count,
        cast(null as {{ dbt.type_timestamp() }}) as last_occurred_at
),

state as (
    select
        combined.event_source,
        combined.subject_id,
        combined.event_type,
        combined.event_type_number,
        {%- for offset in offsets %}
        combined.landmark_count_{{ offset }},
        {%- endfor %}
        cast(combined.event_count as bigint) as event_count,
        combined.last_occurred_at,
        previous_marker.landmark_date,
        {{ as_of }} as state_as_of_date,
        watermark.load_watermark,
        current_version.model_version,
        '{{ mode }}' as state_built_by
    from combined
    cross join previous_marker
    cross join watermark
    cross join current_version
)

select * from state
