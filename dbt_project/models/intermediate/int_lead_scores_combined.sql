{{ config(materialized='table') }}
{#- Grain: one row per scored lead as of the as-of date. Fit (profile) and pain
    (behavior) kept apart and summed; gains against the scores 7 and 30 days
    earlier (0 for a lead that did not exist yet); grades, quadrant, cold flag
    and SDR-ready from the vars and seeds in force. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set floor = var('lead_scoring__score_floor') -%}
{#- Today's profile rows, the columns used here only: this CTE is named twice,
    so DuckDB materialises it. -#}
with profiles as (
    select lead_id, offset_days, email, account_id, lead_created_at
    from {{ ref('int_lead_profiles_resolved') }}
    where offset_days = 0
),

fit_signals as (
    select * from {{ ref('int_lead_fit_signals_scored') }}
),

pain_points as (
    select * from {{ ref('int_lead_event_points_capped') }}
),

grade_bands as (
    select * from {{ ref('score_grade_bands') }}
),

fit_totals as (
    select
        lead_id,
        offset_days,
        sum(points) as fit_score,
        max(observed_at) as profile_changed_at,
        max(case when dimension = 'persona' then dimension_value end) as persona
    from fit_signals
    group by lead_id, offset_days
),

pain_totals as (
    select
        pain_points.lead_id,
        pain_points.offset_days,
        sum(pain_points.points) as pain_score,
        max(case when pain_points.points > 0 then pain_points.last_occurred_at end)
            as last_engaged_at,
        max(case when pain_points.points <> 0 then pain_points.last_occurred_at end)
            as last_scored_event_at,
        max(case when event_weights.lifecycle_stage = 'mql' and pain_points.event_count > 0
                 then 1 else 0 end) as has_mql_event,
        max(case when event_weights.product_milestone = 'activated' and pain_points.event_count > 0
                 then 2
                 when event_weights.product_milestone = 'trial' and pain_points.event_count > 0
                 then 1
                 else 0 end) as product_milestone_rank
    from pain_points
    inner join {{ ref('event_weights') }} as event_weights
        on event_weights.event_type = pain_points.event_type
    group by pain_points.lead_id, pain_points.offset_days
),

{#- Each lead on each score date it existed by. A profile row for an earlier
    date exists only where the profile differed then; elsewhere today's fit
    applies (int_lead_profiles_resolved). -#}
lead_dates as (
    select
        profiles.lead_id,
        score_dates.offset_days,
        dated_profiles.lead_id is not null as has_dated_profile
    from profiles
    inner join ({{ lead_scoring.score_dates_sql() }}) as score_dates
        on score_dates.score_end_at > profiles.lead_created_at
    left join (
        select lead_id, offset_days from {{ ref('int_lead_profiles_resolved') }}
        where offset_days > 0
    ) as dated_profiles
        on dated_profiles.lead_id = profiles.lead_id
        and dated_profiles.offset_days = score_dates.offset_days
    where profiles.offset_days = 0
),

{#- Fit and pain are rounded to cents first, so lead_score is exactly their sum
    (floored) in every row the CRM receives. -#}
rounded_by_offset as (
    select
        lead_dates.lead_id,
        lead_dates.offset_days,
        {{ lead_scoring.to_points('coalesce(case when lead_dates.offset_days = 0'
            ~ ' or lead_dates.has_dated_profile then dated_fit.fit_score'
            ~ ' else current_fit.fit_score end, 0)') }} as fit_score,
        {{ lead_scoring.to_points('coalesce(pain_totals.pain_score, 0)') }} as pain_score
    from lead_dates
    left join fit_totals as dated_fit
        on dated_fit.lead_id = lead_dates.lead_id
        and dated_fit.offset_days = lead_dates.offset_days
    left join fit_totals as current_fit
        on current_fit.lead_id = lead_dates.lead_id
        and current_fit.offset_days = 0
    left join pain_totals
        on pain_totals.lead_id = lead_dates.lead_id
        and pain_totals.offset_days = lead_dates.offset_days
),

scores_by_offset as (
    select
        lead_id,
        offset_days,
        fit_score,
        pain_score,
        {%- if floor is none %}
        fit_score + pain_score as lead_score
        {%- else %}
        greatest(fit_score + pain_score, {{ lead_scoring.number_var('lead_scoring__score_floor') }})
            as lead_score
        {%- endif %}
    from rounded_by_offset
),

current_leads as (
    select
        profiles.lead_id,
        profiles.email,
        profiles.account_id,
        profiles.lead_created_at,
        now_scores.fit_score,
        now_scores.pain_score,
        {{ lead_scoring.to_points('now_scores.lead_score') }} as lead_score,
        {{ lead_scoring.to_points('now_scores.lead_score - coalesce(week_scores.lead_score, 0)') }}
            as score_gain_7d,
        {{ lead_scoring.to_points('now_scores.lead_score - coalesce(month_scores.lead_score, 0)') }}
            as score_gain_30d,
        coalesce(fit_totals.persona, 'unknown') as persona,
        pain_totals.last_engaged_at,
        coalesce(pain_totals.has_mql_event, 0) = 1 as has_mql_event,
        case coalesce(pain_totals.product_milestone_rank, 0)
            when 2 then 'activated' when 1 then 'trial' else 'none'
        end as product_milestone,
        {#- When the score last moved: the latest scored event or profile change. -#}
        least(
            coalesce(greatest(pain_totals.last_scored_event_at, fit_totals.profile_changed_at),
                     profiles.lead_created_at),
            score_dates.score_end_at
        ) as score_changed_at
    from profiles
    inner join ({{ lead_scoring.score_dates_sql() }}) as score_dates
        on score_dates.offset_days = profiles.offset_days
    inner join scores_by_offset as now_scores
        on now_scores.lead_id = profiles.lead_id
        and now_scores.offset_days = 0
    left join scores_by_offset as week_scores
        on week_scores.lead_id = profiles.lead_id
        and week_scores.offset_days = 7
    left join scores_by_offset as month_scores
        on month_scores.lead_id = profiles.lead_id
        and month_scores.offset_days = 30
    left join fit_totals
        on fit_totals.lead_id = profiles.lead_id
        and fit_totals.offset_days = 0
    left join pain_totals
        on pain_totals.lead_id = profiles.lead_id
        and pain_totals.offset_days = 0
    where profiles.offset_days = 0
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
    from grade_bands
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
