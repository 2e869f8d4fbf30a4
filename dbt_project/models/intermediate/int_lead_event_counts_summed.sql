{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored(kind='inputs') }}"
) }}
{%- set mode = lead_scoring.rescore_mode('inputs') -%}
{#- Grain: one row per lead and event type: the forward-decayed counts of the
    decay state (landmark_count_0, _7, _30: one per score date), the event
    count and the latest event, summed over the lead's subjects (CRM contact,
    merged duplicates, product user). An input model (macros/rescore.sql): a
    lead's row changes only when one of its subjects' state rows is written
    again or its subjects change, so a later date carries the other leads' rows
    and int_lead_event_points_capped brings them to the new score dates.
    Grouped by the event type's number, not its name (macros/carried_state.sql
    says why). -#}
{%- set offsets = lead_scoring.score_offsets() -%}
with decayed as (
    select * from {{ ref('int_subject_events_decayed') }}
),

subjects as (
    select *
    from {{ lead_scoring.rescored_rows(ref('int_event_subjects_resolved'), mode) }} as rescored
),

summed as (
    select
        subjects.lead_id,
        decayed.event_type_number,
        {%- for offset in offsets %}
        sum(decayed.landmark_count_{{ offset }}) as landmark_count_{{ offset }},
        {%- endfor %}
        cast(sum(decayed.event_count) as bigint) as event_count,
        max(decayed.last_occurred_at) as last_occurred_at
    from decayed
    inner join subjects
        on subjects.event_source = decayed.event_source
        and subjects.subject_id = decayed.subject_id
    group by subjects.lead_id, decayed.event_type_number
)

select * from summed
