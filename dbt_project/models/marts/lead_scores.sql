{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored() }}"
) }}
{%- set mode = lead_scoring.rescore_mode() -%}
{#- Grain: one row per clean lead (CRM contact that is neither quarantined nor
    a merged duplicate), as of the as-of date. Read by the CRM sync and the
    run report (data-contracts.md section 4). -#}
with scores as (
    select * from {{ lead_scoring.rescored_rows(ref('int_lead_scores_combined'), mode) }} as rescored
),

milestones as (
    select * from {{ lead_scoring.rescored_rows(ref('int_lead_milestones_reached'), mode) }} as rescored
),

tracks as (
    select *
    from {{ lead_scoring.rescored_rows(ref('int_lead_nurture_tracks_assigned'), mode) }} as rescored
),

reasons as (
    select * from {{ lead_scoring.rescored_rows(ref('int_lead_score_reasons_listed'), mode) }} as rescored
),

final as (
    select
        scores.lead_id,
        scores.email,
        scores.account_id,
        scores.fit_score,
        scores.pain_score,
        scores.lead_score,
        scores.score_gain_7d,
        scores.score_gain_30d,
        scores.is_sdr_ready,
        milestones.sdr_ready_at,
        milestones.is_sdr_ready_on_profile,
        milestones.days_to_sdr_ready,
        scores.is_cold,
        scores.fit_grade,
        scores.activity_grade,
        scores.grade,
        scores.quadrant,
        tracks.nurture_track,
        milestones.lifecycle_stage,
        reasons.score_reasons,
        scores.model_version,
        scores.as_of_date,
        scores.scored_at
    from scores
    inner join milestones
        on milestones.lead_id = scores.lead_id
    inner join tracks
        on tracks.lead_id = scores.lead_id
    inner join reasons
        on reasons.lead_id = scores.lead_id
)

select * from final
