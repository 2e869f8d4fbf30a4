{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored() }}"
) }}
{%- set mode = lead_scoring.rescore_mode() -%}
{#- Grain: one row per scored lead as of the as-of date. Fit (profile) and pain
    (behavior, plus pain-kind attribute signals) kept apart and summed; gains against the scores 7 and 30 days
    earlier (0 for a lead that did not exist yet); grades, quadrant, cold flag
    and SDR-ready from the vars and seeds in force. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set floor = var('lead_scoring__score_floor') -%}
{#- Every large relation is read once, per lead, with the three score dates side
    by side (conditional aggregates): a CTE named more than once would be
    materialised by DuckDB, every row held at once. -#}
{%- set earlier = lead_scoring.score_offsets() | reject('equalto', 0) | list -%}
{#- Attribute signals per lead: fit and pain points at each score date. -#}
with signals_by_lead as (
    select
        lead_id,
        {%- for offset in lead_scoring.score_offsets() %}
        sum(case when offset_days = {{ offset }} and kind = 'fit' then points end)
            as fit_score_{{ offset }},
        sum(case when offset_days = {{ offset }} and kind = 'pain' then points end)
            as attribute_pain_{{ offset }},
        {%- endfor %}
        max(case when offset_days = 0 then observed_at end) as profile_changed_at
    from {{ lead_scoring.rescored_rows(ref('int_lead_signals_scored'), mode) }} as rescored
    group by lead_id
),

personas as (
    select lead_id, attribute_value as persona
    from {{ lead_scoring.rescored_rows(ref('int_lead_attributes_resolved'), mode) }} as rescored
    where offset_days = 0 and attribute = 'persona'
),

{#- Leads with a profile of their own on an earlier score date (it changed
    since); the others had today's profile, and today's fit applies. -#}
dated_profiles as (
    select
        lead_id,
        {%- for offset in earlier %}
        max(case when offset_days = {{ offset }} then 1 else 0 end) as has_profile_{{ offset }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ lead_scoring.rescored_rows(ref('int_lead_profiles_resolved'), mode) }} as rescored
    where offset_days > 0
    group by lead_id
),

pain_by_lead as (
    select
        pain_points.lead_id,
        {%- for offset in lead_scoring.score_offsets() %}
        sum(pain_points.points_{{ offset }}) as pain_score_{{ offset }},
        {%- endfor %}
        max(case when pain_points.points_0 > 0
                 then pain_points.last_occurred_at end) as last_engaged_at,
        max(case when pain_points.points_0 <> 0
                 then pain_points.last_occurred_at end) as last_scored_event_at,
        max(case when event_weights.lifecycle_stage = 'mql' and pain_points.event_count > 0
                 then 1 else 0 end) as has_mql_event,
        max(case when pain_points.event_count = 0 then 0
                 when event_weights.product_milestone = 'activated' then 2
                 when event_weights.product_milestone = 'trial' then 1
                 else 0 end) as product_milestone_rank
    from {{ lead_scoring.rescored_rows(ref('int_lead_event_points_capped'), mode) }} as pain_points
    inner join {{ ref('event_weights') }} as event_weights
        on event_weights.event_type = pain_points.event_type
    group by pain_points.lead_id
),

{#- Fit and pain are rounded to cents first, so lead_score is exactly their sum
    (floored) in every row the CRM receives. A lead that did not exist yet on an
    earlier score date scores 0 there. Attribute signals (fit and pain) on an
    earlier date come from that date's profile row where the lead has one, else
    from today's (its profile did not change since). -#}
rounded as (
    select
        profiles.lead_id,
        profiles.email,
        profiles.account_id,
        profiles.lead_created_at,
        {{ lead_scoring.to_points('coalesce(signals_by_lead.fit_score_0, 0)') }} as fit_score_0,
        {{ lead_scoring.to_points('coalesce(pain_by_lead.pain_score_0, 0)'
            ~ ' + coalesce(signals_by_lead.attribute_pain_0, 0)') }} as pain_score_0,
        {%- for offset in earlier %}
        {%- set dated = 'dated_profiles.has_profile_' ~ offset ~ ' = 1' %}
        case when profiles.lead_created_at < {{ lead_scoring.score_end_at_sql(offset) }} then
            {{ lead_scoring.to_points('case when ' ~ dated
                ~ ' then coalesce(signals_by_lead.fit_score_' ~ offset ~ ', 0)'
                ~ ' else coalesce(signals_by_lead.fit_score_0, 0) end') }}
            + {{ lead_scoring.to_points('coalesce(pain_by_lead.pain_score_' ~ offset ~ ', 0)'
                ~ ' + case when ' ~ dated
                ~ ' then coalesce(signals_by_lead.attribute_pain_' ~ offset ~ ', 0)'
                ~ ' else coalesce(signals_by_lead.attribute_pain_0, 0) end') }}
        end as unfloored_score_{{ offset }},
        {%- endfor %}
        coalesce(personas.persona, 'unknown') as persona,
        signals_by_lead.profile_changed_at,
        pain_by_lead.last_engaged_at,
        pain_by_lead.last_scored_event_at,
        coalesce(pain_by_lead.has_mql_event, 0) = 1 as has_mql_event,
        coalesce(pain_by_lead.product_milestone_rank, 0) as product_milestone_rank
    from {{ lead_scoring.rescored_rows(ref('int_lead_profiles_resolved'), mode) }} as profiles
    left join signals_by_lead
        on signals_by_lead.lead_id = profiles.lead_id
    left join personas
        on personas.lead_id = profiles.lead_id
    left join dated_profiles
        on dated_profiles.lead_id = profiles.lead_id
    left join pain_by_lead
        on pain_by_lead.lead_id = profiles.lead_id
    where profiles.offset_days = 0
),

{#- lead_score is floored at lead_scoring__score_floor (none: not floored). #}
{%- set floor_sql = none if floor is none else lead_scoring.number_var('lead_scoring__score_floor') | string | trim %}
{%- set now_score = 'fit_score_0 + pain_score_0' if floor_sql is none
    else 'greatest(fit_score_0 + pain_score_0, ' ~ floor_sql ~ ')' %}

current_leads as (
    select
        lead_id,
        email,
        account_id,
        lead_created_at,
        fit_score_0 as fit_score,
        pain_score_0 as pain_score,
        {{ lead_scoring.to_points(now_score) }} as lead_score,
        {%- for offset in earlier %}
        {%- set then_score = 'unfloored_score_' ~ offset if floor_sql is none
            else 'greatest(unfloored_score_' ~ offset ~ ', ' ~ floor_sql ~ ')' %}
        {{ lead_scoring.to_points(now_score ~ ' - coalesce(' ~ then_score ~ ', 0)') }}
            as score_gain_{{ offset }}d,
        {%- endfor %}
        persona,
        last_engaged_at,
        has_mql_event,
        case product_milestone_rank
            when 2 then 'activated' when 1 then 'trial' else 'none'
        end as product_milestone,
        {#- When the score last moved: the latest scored event or profile change,
            not before the lead was created (events and profile values can predate
            the CRM record: a product user who became a contact later). -#}
        least(
            greatest(last_scored_event_at, profile_changed_at, lead_created_at),
            {{ lead_scoring.score_end_at_sql(0) }}
        ) as score_changed_at
    from rounded
),

{#- A score gets the band with the highest min_score it reaches; a score below
    every band gets the lowest band. Each band covers [min_score, the next
    band's min_score): a range join with the seed, no sort of the leads. -#}
grade_ranges as (
    select
        score_dimension,
        grade,
        min_score,
        lead(min_score) over (partition by score_dimension order by min_score) as next_min_score,
        row_number() over (partition by score_dimension order by min_score) as band_order
    from {{ ref('score_grade_bands') }}
),

classified as (
    select
        current_leads.*,
        fit_grades.grade as fit_grade,
        activity_grades.grade as activity_grade,
        fit_grades.grade || activity_grades.grade as grade,
        case
            when current_leads.fit_score >= {{ lead_scoring.number_var('lead_scoring__good_fit_threshold') }}
                and current_leads.pain_score >= {{ lead_scoring.number_var('lead_scoring__high_pain_threshold') }}
                then 'yes'
            when current_leads.fit_score >= {{ lead_scoring.number_var('lead_scoring__good_fit_threshold') }}
                or current_leads.pain_score >= {{ lead_scoring.number_var('lead_scoring__high_pain_threshold') }}
                then 'maybe'
            else 'no'
        end as quadrant,
        current_leads.lead_score >= {{ lead_scoring.number_var('lead_scoring__sdr_ready_threshold') }}
            as is_sdr_ready,
        {{ dbt.datediff('greatest(current_leads.last_engaged_at, current_leads.lead_created_at)',
                        as_of, 'day') }}
            > {{ lead_scoring.number_var('lead_scoring__cold_after_days') }} as is_cold
    from current_leads
    inner join grade_ranges as fit_grades
        on fit_grades.score_dimension = 'fit'
        and (current_leads.fit_score >= fit_grades.min_score or fit_grades.band_order = 1)
        and (fit_grades.next_min_score is null
             or current_leads.fit_score < fit_grades.next_min_score)
    inner join grade_ranges as activity_grades
        on activity_grades.score_dimension = 'activity'
        and (current_leads.pain_score >= activity_grades.min_score
             or activity_grades.band_order = 1)
        and (activity_grades.next_min_score is null
             or current_leads.pain_score < activity_grades.next_min_score)
),

versioned as (
    select
        classified.*,
        current_version.model_version,
        {{ as_of }} as as_of_date,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
            as scored_at
    from classified
    cross join {{ ref('int_scoring_rules_versioned') }} as current_version
)

select * from versioned
