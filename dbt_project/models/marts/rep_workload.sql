{#- Grain: one row per rep in the roster, as of the as-of date: the leads
    assigned that day and over the last 30 days (the as-of date and the 29
    before it; CRM-owned leads included), the current assignments not yet
    followed up, and the follow-up SLA of the last 30 days' assignments.
    Read by the run report and the bench. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set window_start = lead_scoring.as_of_date_minus_sql(29) -%}
with reps as (
    select rep_id, name, team, daily_capacity, out_of_office
    from {{ ref('int_sales_reps_resolved') }}
),

follow_ups as (
    select * from {{ ref('lead_follow_ups') }}
),

per_rep as (
    select
        rep_id,
        sum(case when assigned_on = {{ as_of }} then 1 else 0 end) as assigned_today,
        sum(case when assigned_on >= {{ window_start }} then 1 else 0 end) as assigned_30d,
        sum(case when is_current_assignment and first_follow_up_at is null then 1 else 0 end)
            as open_assignments,
        sum(case when assigned_on >= {{ window_start }} and is_breached then 1 else 0 end)
            as breaches_30d,
        sum(case when assigned_on >= {{ window_start }} and sla_status = 'met' then 1 else 0 end)
            as met_30d
    from follow_ups
    group by rep_id
),

workload as (
    select
        reps.rep_id,
        reps.name,
        reps.team,
        reps.daily_capacity,
        reps.out_of_office,
        cast(coalesce(per_rep.assigned_today, 0) as integer) as assigned_today,
        cast(coalesce(per_rep.assigned_30d, 0) as integer) as assigned_30d,
        cast(coalesce(per_rep.open_assignments, 0) as integer) as open_assignments,
        cast(coalesce(per_rep.breaches_30d, 0) as integer) as breaches_30d,
        cast(per_rep.met_30d as {{ lead_scoring.type_double() }})
            / nullif(per_rep.met_30d + per_rep.breaches_30d, 0) as followed_up_within_sla_share,
        {{ as_of }} as as_of_date
    from reps
    left join per_rep
        on per_rep.rep_id = reps.rep_id
)

select * from workload
