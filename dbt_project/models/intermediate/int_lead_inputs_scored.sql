{{ config(materialized='table') }}
{#- Grain: one row per lead with the input digest its scores were computed
    from, plus one bookkeeping row (lead_id '_state'): the as-of date, rules,
    decay-state load watermark and run start of this scoring. Built after every
    lead-level model, so it records a scoring only once all of them completed;
    the next run's int_leads_to_rescore compares with it. -#}
{%- set marker = lead_scoring.state_marker() %}
-- depends_on: {{ ref('lead_scores') }}
-- depends_on: {{ ref('lead_score_history') }}
-- depends_on: {{ ref('lead_score_contributions') }}
-- depends_on: {{ ref('int_lead_thresholds_first_crossed') }}
with rescored as (
    select decay_watermark, rescore_started_at
    from {{ ref('int_leads_to_rescore') }}
    where lead_id = '{{ marker }}'
),

scored as (
    select
        lead_id,
        input_fingerprint,
        cast(null as date) as as_of_date,
        cast(null as {{ dbt.type_string() }}) as model_version,
        cast(null as {{ lead_scoring.type_double() }}) as decay_watermark,
        cast(null as {{ dbt.type_timestamp() }}) as scored_started_at
    from {{ ref('int_lead_inputs_fingerprinted') }}

    union all

    select
        '{{ marker }}' as lead_id,
        null as input_fingerprint,
        {{ lead_scoring.as_of_date_sql() }} as as_of_date,
        current_version.model_version,
        rescored.decay_watermark,
        rescored.rescore_started_at as scored_started_at
    from rescored
    cross join {{ ref('int_scoring_rules_versioned') }} as current_version
)

select * from scored
