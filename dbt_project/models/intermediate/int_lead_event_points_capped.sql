{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored() }}"
) }}
{#- Grain: one row per lead and event type. Points are the event type's weight
    times its decayed count, summed over the lead's subjects (CRM contact,
    merged duplicates, product user: int_lead_event_counts_summed), then
    capped at the type's max_points in absolute value: the cap applies after
    the sum. points_0 is as of the as-of date, points_7 and points_30 as of 7
    and 30 days before it (null: no event yet then). The decayed count at a
    score date comes from the state's forward-decayed count: landmark_count x
    0.5 ^ ((score date - landmark date) / half-life), so a later date is one
    multiplication per row, with no join through the subjects. Keys and
    numbers only (5M rows at 1M leads): readers join the labels from
    event_weights. -#}
{%- set mode = lead_scoring.rescore_mode() -%}
{%- set offsets = lead_scoring.score_offsets() -%}
{%- set as_of_day = modules.datetime.date.fromisoformat(lead_scoring.as_of_date()) -%}
with summed as (
    select *
    from {{ lead_scoring.rescored_rows(ref('int_lead_event_counts_summed'), mode) }} as rescored
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

pointed as (
    select
        summed.lead_id,
        event_weights.event_type,
        summed.event_count,
        summed.last_occurred_at,
        event_weights.max_points,
        {%- for offset in offsets %}
        {%- set score_date = lead_scoring.date_literal(
            (as_of_day - modules.datetime.timedelta(days=offset)).isoformat()) %}
        summed.landmark_count_{{ offset }} * {{ lead_scoring.decay_factor(
            dbt.datediff('landmark.landmark_date', score_date, 'day'),
            'event_weights.half_life_days') }} * event_weights.points
            as uncapped_points_{{ offset }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from summed
    cross join landmark
    inner join event_weights
        on event_weights.event_type_number = summed.event_type_number
),

capped as (
    select
        pointed.lead_id,
        pointed.event_type,
        pointed.event_count,
        pointed.last_occurred_at,
        pointed.max_points,
        pointed.uncapped_points_0,
        {%- for offset in offsets %}
        {{ lead_scoring.capped_points('pointed.uncapped_points_' ~ offset, 'pointed.max_points') }}
            as points_{{ offset }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from pointed
)

select * from capped
