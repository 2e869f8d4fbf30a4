{#- Grain: one row per lead that is SDR-ready as of the as-of date: the team
    and rep it goes to, or its place in the team's queue. docs/routing.md
    describes the order of decisions:
    1. the first lead of an account (by priority) is routed; the account's
       other leads follow it to its rep (account_owner) while that rep has
       capacity left, and queue otherwise;
    2. fast lane: a first lead graded A with a fast 7-day gain, or with a
       recent demo / contact-sales request, goes round-robin to the senior
       reps and AEs; when they are full, it is routed like any other lead;
    3. routing_rules pick the team (first match wins; a rule whose team has
       no rep falls back to the default team, rule 'default');
    4. round-robin within the team, each rep up to daily_capacity minus the
       fast-lane leads already given; out-of-office reps get nothing;
    5. the rest queue per team, 1 = next.
    Priority everywhere: lead_score desc, score_gain_7d desc, lead_id. Reps
    are dealt in rounds (every rep's first lead, then every rep's second
    one, ...), by rep_id within a round. Capacities are dealt as numbered
    slots: the n-th lead of a pool takes the n-th slot. -#}
{%- set fast_lane_events = var('lead_scoring__fast_lane_events') or [] -%}
{%- set fast_lane_days = lead_scoring.number_var('lead_scoring__fast_lane_event_days') | int -%}
{%- set default_team = "'default'" -%}
with ready_leads as (
    select lead_id, account_id, lead_score, score_gain_7d, grade, as_of_date
    from {{ ref('lead_scores') }}
    where is_sdr_ready
),

profiles as (
    select lead_id, country_code, industry, employee_count
    from {{ ref('int_lead_profiles_resolved') }}
    where offset_days = 0
),

reps as (
    select * from {{ ref('sales_reps') }}
),

rules as (
    select * from {{ ref('routing_rules') }}
),

{#- The most recent fast-lane event in the window, per lead. -#}
recent_requests as (
    {%- if fast_lane_events | length > 0 %}
    select
        points.lead_id,
        event_weights.reason_label,
        row_number() over (
            partition by points.lead_id
            order by points.last_occurred_at desc, points.event_type asc
        ) as request_rank
    from {{ ref('int_lead_event_points_capped') }} as points
    inner join {{ ref('event_weights') }} as event_weights
        on event_weights.event_type = points.event_type
    where points.event_type in (
        {%- for event_type in fast_lane_events %}
        '{{ event_type }}'{% if not loop.last %},{% endif %}
        {%- endfor %})
        and points.last_occurred_at >= {{ lead_scoring.score_end_at_sql(fast_lane_days) }}
        and points.last_occurred_at < {{ lead_scoring.score_end_at_sql(0) }}
    {%- else %}
    select
        lead_id,
        cast(null as {{ dbt.type_string() }}) as reason_label,
        1 as request_rank
    from ready_leads
    where 1 = 0
    {%- endif %}
),

ranked as (
    select
        ready_leads.*,
        profiles.country_code,
        profiles.industry,
        profiles.employee_count,
        case
            when profiles.employee_count
                >= {{ lead_scoring.number_var('lead_scoring__enterprise_min_employees') }}
                then 'enterprise'
            else 'smb'
        end as segment,
        case
            when ready_leads.grade like 'A%'
                and ready_leads.score_gain_7d
                >= {{ lead_scoring.number_var('lead_scoring__fast_lane_min_gain_7d') }}
                then 'grade ' || ready_leads.grade || ', +'
                || cast(ready_leads.score_gain_7d as {{ dbt.type_string() }}) || ' in 7 days'
            when recent_requests.reason_label is not null
                then recent_requests.reason_label || ' recently'
        end as fast_lane_reason,
        row_number() over (
            order by ready_leads.lead_score desc, ready_leads.score_gain_7d desc, ready_leads.lead_id asc
        ) as priority_rank,
        row_number() over (
            partition by ready_leads.account_id,
            case when ready_leads.account_id is null then ready_leads.lead_id end
            order by ready_leads.lead_score desc, ready_leads.score_gain_7d desc, ready_leads.lead_id asc
        ) as account_rank
    from ready_leads
    left join profiles
        on profiles.lead_id = ready_leads.lead_id
    left join recent_requests
        on recent_requests.lead_id = ready_leads.lead_id
        and recent_requests.request_rank = 1
),

{#- Slot numbers 1..n; no pool needs more slots than there are ready leads. -#}
numbers as (
    select priority_rank as n from ranked
),

available_reps as (
    select * from reps where not out_of_office and daily_capacity > 0
),

fast_lane_slots as (
    select
        available_reps.rep_id,
        available_reps.team,
        row_number() over (order by numbers.n, available_reps.rep_id) as slot_number
    from available_reps
    inner join numbers
        on numbers.n <= available_reps.daily_capacity
    where available_reps.role in ('senior', 'ae')
),

fast_lane_leads as (
    select
        lead_id,
        fast_lane_reason,
        row_number() over (order by priority_rank) as lane_rank
    from ranked
    where account_rank = 1 and fast_lane_reason is not null
),

fast_lane_assigned as (
    select
        fast_lane_leads.lead_id,
        fast_lane_slots.team,
        fast_lane_slots.rep_id,
        'fast_lane' as routing_rule,
        'fast lane (' || fast_lane_leads.fast_lane_reason || '): round-robin among senior reps and AEs'
            as assigned_reason
    from fast_lane_leads
    inner join fast_lane_slots
        on fast_lane_slots.slot_number = fast_lane_leads.lane_rank
),

fast_lane_load as (
    select rep_id, count(*) as lead_count
    from fast_lane_assigned
    group by rep_id
),

{#- First leads of their account not taken by the fast lane: the rules. -#}
rule_matches as (
    select
        ranked.lead_id,
        rules.rule_name,
        rules.team,
        row_number() over (partition by ranked.lead_id order by rules.priority) as match_rank
    from ranked
    inner join rules
        on (rules.countries is null
            or '|' || rules.countries || '|' like '%|' || ranked.country_code || '|%')
        and (rules.segment is null or rules.segment = ranked.segment)
        and (rules.industries is null
            or '|' || rules.industries || '|' like '%|' || ranked.industry || '|%')
        and (rules.min_employees is null or ranked.employee_count >= rules.min_employees)
        and (rules.max_employees is null or ranked.employee_count <= rules.max_employees)
    where ranked.account_rank = 1
),

teams as (
    select distinct team from reps
),

team_leads as (
    select
        ranked.lead_id,
        ranked.priority_rank,
        ranked.fast_lane_reason,
        case when teams.team is not null then rule_matches.team else {{ default_team }} end as team,
        case when teams.team is not null then rule_matches.rule_name else 'default' end
            as routing_rule
    from ranked
    left join fast_lane_assigned
        on fast_lane_assigned.lead_id = ranked.lead_id
    left join rule_matches
        on rule_matches.lead_id = ranked.lead_id
        and rule_matches.match_rank = 1
    left join teams
        on teams.team = rule_matches.team
    where ranked.account_rank = 1 and fast_lane_assigned.lead_id is null
),

team_slots as (
    select
        available_reps.team,
        available_reps.rep_id,
        row_number() over (
            partition by available_reps.team order by numbers.n, available_reps.rep_id
        ) as slot_number
    from available_reps
    left join fast_lane_load
        on fast_lane_load.rep_id = available_reps.rep_id
    inner join numbers
        on numbers.n > coalesce(fast_lane_load.lead_count, 0)
        and numbers.n <= available_reps.daily_capacity
),

team_leads_ranked as (
    select
        *,
        row_number() over (partition by team order by priority_rank) as team_rank
    from team_leads
),

team_assigned as (
    select
        team_leads.lead_id,
        team_leads.team,
        team_slots.rep_id,
        team_leads.routing_rule,
        case when team_leads.fast_lane_reason is not null then 'fast lane full; ' else '' end
        || case
            when team_leads.routing_rule = 'default'
                then 'no rule matched a team with reps: default team'
            else 'rule ' || team_leads.routing_rule || ': team ' || team_leads.team
        end
        || case
            when team_slots.rep_id is not null then ', round-robin'
            else ', queued: no capacity left in the team today'
        end as assigned_reason
    from team_leads_ranked as team_leads
    left join team_slots
        on team_slots.team = team_leads.team
        and team_slots.slot_number = team_leads.team_rank
),

first_leads as (
    select * from fast_lane_assigned
    union all
    select * from team_assigned
),

{#- The account's other leads follow its first lead: to its rep while the
    rep has capacity left after every first lead, else to the queue. -#}
followers as (
    select
        ranked.lead_id,
        ranked.priority_rank,
        owners.lead_id as owner_lead_id,
        owners.team,
        owners.rep_id as owner_rep_id,
        row_number() over (
            partition by owners.rep_id order by ranked.priority_rank
        ) as follower_rank
    from ranked
    inner join ranked as account_firsts
        on account_firsts.account_id = ranked.account_id
        and account_firsts.account_rank = 1
    inner join first_leads as owners
        on owners.lead_id = account_firsts.lead_id
    where ranked.account_rank > 1
),

rep_load as (
    select rep_id, count(*) as lead_count
    from first_leads
    where rep_id is not null
    group by rep_id
),

followers_assigned as (
    select
        followers.lead_id,
        followers.team,
        case
            when followers.follower_rank + rep_load.lead_count <= reps.daily_capacity
                then followers.owner_rep_id
        end as rep_id,
        'account_owner' as routing_rule,
        'same account as ' || followers.owner_lead_id
        || case
            when followers.owner_rep_id is null then ', which is queued: queued with it'
            when followers.follower_rank + rep_load.lead_count <= reps.daily_capacity
                then ': its rep ' || followers.owner_rep_id
            else ': its rep ' || followers.owner_rep_id || ' has no capacity left today, queued'
        end as assigned_reason
    from followers
    left join rep_load
        on rep_load.rep_id = followers.owner_rep_id
    left join reps
        on reps.rep_id = followers.owner_rep_id
),

routed as (
    select * from first_leads
    union all
    select * from followers_assigned
),

final as (
    select
        ranked.lead_id,
        ranked.account_id,
        ranked.lead_score,
        ranked.score_gain_7d,
        ranked.grade,
        routed.team,
        routed.rep_id,
        routed.routing_rule,
        case
            when routed.rep_id is null then row_number() over (
                partition by routed.team, case when routed.rep_id is null then 1 else 0 end
                order by ranked.priority_rank
            )
        end as queue_position,
        routed.assigned_reason,
        ranked.as_of_date
    from ranked
    inner join routed
        on routed.lead_id = ranked.lead_id
)

select * from final
