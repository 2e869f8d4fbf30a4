{{ config(materialized='table') }}
{#- Grain: one row per lead, score offset and event type. Points are the event
    type's weight times its decayed count, summed over the lead's subjects
    (CRM contact, merged duplicates, product user), then capped at the type's
    max_points in absolute value: the cap applies after the sum. The decayed
    count at the score date comes from the state's forward-decayed count:
    landmark_count x 0.5 ^ ((score date - landmark date) / half-life).
    Keys and numbers only (15M rows at 1M leads): readers join the labels
    from event_weights. Grouped by the event type's number, not its name
    (macros/carried_state.sql says why). -#}
with decayed as (
    select * from {{ ref('int_subject_events_decayed') }}
),

subjects as (
    select * from {{ ref('int_event_subjects_resolved') }}
),

event_weights as (
    {{ lead_scoring.numbered_event_weights() }}
),

{#- The landmark is the same in every row: read it once, from the bookkeeping
    row, not per group. -#}
landmark as (
    select landmark_date
    from {{ ref('int_subject_events_decayed') }}
    where event_source = '{{ lead_scoring.state_marker() }}'
),

summed as (
    select
        subjects.lead_id,
        decayed.offset_days,
        decayed.event_type_number,
        sum(decayed.landmark_count) as landmark_count,
        cast(sum(decayed.event_count) as bigint) as event_count,
        max(decayed.last_occurred_at) as last_occurred_at
    from decayed
    inner join subjects
        on subjects.event_source = decayed.event_source
        and subjects.subject_id = decayed.subject_id
    group by subjects.lead_id, decayed.offset_days, decayed.event_type_number
),

decayed_to_score_date as (
    select
        summed.lead_id,
        summed.offset_days,
        event_weights.event_type,
        summed.landmark_count * {{ lead_scoring.decay_factor(
            dbt.datediff('landmark.landmark_date', 'score_dates.score_date', 'day'),
            'event_weights.half_life_days') }} as decayed_count,
        summed.event_count,
        summed.last_occurred_at,
        event_weights.points as weight,
        event_weights.max_points
    from summed
    cross join landmark
    inner join ({{ lead_scoring.score_dates_sql() }}) as score_dates
        on score_dates.offset_days = summed.offset_days
    inner join event_weights
        on event_weights.event_type_number = summed.event_type_number
),

pointed as (
    select
        lead_id,
        offset_days,
        event_type,
        decayed_count,
        event_count,
        last_occurred_at,
        decayed_count * weight as uncapped_points,
        max_points
    from decayed_to_score_date
),

capped as (
    select
        pointed.*,
        {{ lead_scoring.capped_points('pointed.uncapped_points', 'pointed.max_points') }} as points
    from pointed
)

select * from capped
