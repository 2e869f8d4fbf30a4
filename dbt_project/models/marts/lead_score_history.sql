{{ config(
    materialized='incremental',
    incremental_strategy=lead_scoring.dated_strategy('append'),
    partition_by=lead_scoring.dated_partitions(),
    pre_hook="{{ lead_scoring.clear_rescored('as_of_date = ' ~ lead_scoring.as_of_date_sql()) }}",
    on_schema_change='append_new_columns',
    full_refresh=false
) }}
{%- set mode = lead_scoring.rescore_mode() -%}
{#- Grain: one row per lead per as-of date. Each run replaces the rows of its
    own as-of date (of the leads it rescores: macros/rescore.sql), so re-running
    a date rewrites that date only. Kept through
    --full-refresh: it is the record of when leads first crossed thresholds. -#}
with scores as (
    select * from {{ lead_scoring.rescored_rows(ref('int_lead_scores_combined'), mode) }} as rescored
),

history as (
    select
        lead_id,
        as_of_date,
        fit_score,
        pain_score,
        lead_score,
        score_gain_7d,
        score_gain_30d,
        is_sdr_ready,
        fit_grade,
        activity_grade,
        quadrant,
        score_changed_at,
        model_version,
        scored_at
    from scores
)

select * from history
