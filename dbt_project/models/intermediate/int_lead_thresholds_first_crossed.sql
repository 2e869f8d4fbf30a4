{{ config(
    materialized='incremental',
    incremental_strategy=lead_scoring.keyed_strategy(),
    unique_key='lead_id',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_state_for_rebuild(
        crossings_mode(ref('int_scoring_rules_versioned'), announce=false)) }}"
) }}
{#- Grain: one row per lead that reached the SDR-ready threshold or the MQL
    pain threshold on some date of lead_score_history up to the as-of date,
    with the first such date; plus one bookkeeping row (lead_id '_state'):
    the as-of date it was brought to and the rules in force.

    Carried forward, so a nightly run does not read the whole history (a year
    of nightly runs is 365 rows per lead): it reads only the history dates
    after the previous as-of date, up to this one, and adds the leads that
    crossed a threshold there for the first time. A first crossing never moves
    later, so the carried rows stay exact. It is rebuilt from all of history
    up to the as-of date on the first run, on --full-refresh, under other
    rules (thresholds are part of model_version), and for an as-of date at or
    before the previous one (a re-run rewrites that date's history rows). A
    run as of the same date that rescores some leads only (macros/rescore.sql)
    recomputes those leads from all their history. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set marker = lead_scoring.state_marker() -%}
{%- set sdr_threshold = lead_scoring.number_var('lead_scoring__sdr_ready_threshold') -%}
{%- set mql_threshold = lead_scoring.number_var('lead_scoring__mql_pain_threshold') -%}
{%- set mode = crossings_mode(ref('int_scoring_rules_versioned')) -%}
with
{%- if mode == 'carry' %}
previous_marker as (
    select state_as_of_date from {{ this }} where lead_id = '{{ marker }}'
),
{%- endif %}

crossings as (
    select
        history.lead_id,
        history.as_of_date,
        history.score_changed_at,
        history.fit_score,
        history.lead_score >= {{ sdr_threshold }} as is_sdr_ready,
        history.pain_score >= {{ mql_threshold }} as is_mql_by_pain
    from {{ ref('lead_score_history') }} as history
    {%- if mode == 'carry' %}
    cross join previous_marker
    {%- endif %}
    where history.as_of_date <= {{ as_of }}
        {%- if mode == 'rescore' %}
        and {{ lead_scoring.only_rescored('history.lead_id', 'changed') }}
        {%- endif %}
        {%- if mode == 'carry' %}
        and history.as_of_date > previous_marker.state_as_of_date
        {%- endif %}
        and (history.lead_score >= {{ sdr_threshold }}
             or history.pain_score >= {{ mql_threshold }})
),

first_sdr_ready as (
    select
        lead_id,
        as_of_date as sdr_ready_date,
        score_changed_at as sdr_ready_at,
        fit_score >= {{ sdr_threshold }} as is_sdr_ready_on_profile,
        row_number() over (partition by lead_id order by as_of_date) as crossing_rank
    from crossings
    where is_sdr_ready
),

first_mql_by_pain as (
    select lead_id, min(as_of_date) as mql_by_pain_date
    from crossings
    where is_mql_by_pain
    group by lead_id
),

new_crossings as (
    select
        coalesce(first_sdr_ready.lead_id, first_mql_by_pain.lead_id) as lead_id,
        first_sdr_ready.sdr_ready_date,
        first_sdr_ready.sdr_ready_at,
        first_sdr_ready.is_sdr_ready_on_profile,
        first_mql_by_pain.mql_by_pain_date
    from (select * from first_sdr_ready where crossing_rank = 1) as first_sdr_ready
    full outer join first_mql_by_pain
        on first_mql_by_pain.lead_id = first_sdr_ready.lead_id
),

{#- An earlier crossing, carried, wins over a new one. -#}
combined as (
    select
        new_crossings.lead_id,
        {%- if mode == 'carry' %}
        {%- for column in ['sdr_ready_date', 'sdr_ready_at', 'is_sdr_ready_on_profile'] %}
        case when previous.sdr_ready_date is not null then previous.{{ column }}
             else new_crossings.{{ column }} end as {{ column }},
        {%- endfor %}
        coalesce(previous.mql_by_pain_date, new_crossings.mql_by_pain_date) as mql_by_pain_date
    from new_crossings
    left join {{ this }} as previous
        on previous.lead_id = new_crossings.lead_id
        {%- else %}
        new_crossings.sdr_ready_date,
        new_crossings.sdr_ready_at,
        new_crossings.is_sdr_ready_on_profile,
        new_crossings.mql_by_pain_date
    from new_crossings
        {%- endif %}

    union all

    select
        '{{ marker }}' as lead_id,
        cast(null as date) as sdr_ready_date,
        cast(null as {{ dbt.type_timestamp() }}) as sdr_ready_at,
        cast(null as boolean) as is_sdr_ready_on_profile,
        cast(null as date) as mql_by_pain_date
),

state as (
    select
        combined.*,
        {{ as_of }} as state_as_of_date,
        current_version.model_version,
        '{{ mode }}' as state_built_by
    from combined
    cross join {{ ref('int_scoring_rules_versioned') }} as current_version
)

select * from state
