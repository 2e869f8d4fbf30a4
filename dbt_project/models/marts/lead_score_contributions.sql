{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored() }}"
) }}
{%- set mode = lead_scoring.rescore_mode() -%}
{#- Grain: one row per scored lead and signal (a signal_rules signal the lead
    matches, such as seniority:vp, or an event type): what each signal adds to
    the score, so a rep can see which actions produced it. -#}
with contributions as (
    select *
    from {{ lead_scoring.rescored_rows(ref('int_lead_score_contributions_unioned'), mode) }} as rescored
),

scores as (
    select lead_id, model_version, as_of_date
    from {{ lead_scoring.rescored_rows(ref('int_lead_scores_combined'), mode) }} as rescored
),

final as (
    select
        contributions.lead_id,
        contributions.signal,
        contributions.signal_type,
        contributions.points,
        contributions.reason_label,
        contributions.event_count,
        contributions.last_occurred_at,
        contributions.age_days,
        scores.model_version,
        scores.as_of_date
    from contributions
    inner join scores
        on scores.lead_id = contributions.lead_id
)

select * from final
