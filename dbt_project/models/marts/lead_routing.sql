{{ config(
    materialized='incremental',
    unique_key='as_of_date',
    incremental_strategy=lead_scoring.dated_strategy('delete+insert'),
    partition_by=lead_scoring.dated_partitions(),
    on_schema_change='append_new_columns',
    full_refresh=false,
    pre_hook="{{ lead_scoring.clear_routing_of_old_layout() }}"
) }}
{#- Grain: one row per lead decided on the as-of date: a lead assigned to a
    rep that day, or a lead waiting in a team's queue that day. Incremental:
    a run replaces the rows of its own as-of date and reads only the rows of
    earlier dates ({{ this }}), so re-running a date gives the same rows. Kept
    through --full-refresh: it is the record of who got which lead when.

    Candidates on date d: SDR-ready leads never assigned before whose CRM
    contact has no owner, plus leads whose assignment is due for reassignment
    (no follow-up within the SLA and the second window). A lead whose contact
    has an owner in the CRM is not routed; when that owner is a rep, the rep is
    recorded once (routing_rule crm_owner, not counted against capacity).
    docs/routing.md describes the order of decisions:
    1. account owner: an account whose CRM owner is a rep, or whose earlier
       lead this routing assigned, sends its leads to that rep while the rep
       has capacity; the rest queue in the rep's team;
    2. fast lane: a first lead of an account graded A with a fast 7-day gain,
       or with a recent demo / contact-sales request, goes round-robin to the
       senior reps and AEs; when they are full, it is routed like any other;
    3. reassignment: to another rep of the previous team (of the fast lane,
       for a fast-lane lead), round-robin; none of them has room: it queues;
    4. routing_rules pick the team (first match wins; a rule whose team has
       no rep falls back to the default team, rule 'default'), round-robin;
    5. the other leads of an account routed by 2-4 follow its first lead's
       rep while that rep has capacity left, and queue otherwise;
    6. the rest queue per team, 1 = next; they are candidates again the next
       day. queued_since is the first day of the current wait.
    Priority everywhere: lead_score desc, score_gain_7d desc, lead_id.
    Round-robin deals the reps with the fewest leads over the last 30 days
    first (macro round_robin_slots); daily_capacity counts the leads of the
    as-of date only. -#}
{%- set fast_lane_events = var('lead_scoring__fast_lane_events') or [] -%}
{%- set fast_lane_days = lead_scoring.number_var('lead_scoring__fast_lane_event_days') | int -%}
{%- set reassign_hours = lead_scoring.hours_var('lead_scoring__sla_reassign_after_hours', true) -%}
{%- set has_history = lead_scoring.routing_history_available() -%}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set day_end = lead_scoring.score_end_at_sql(0) -%}
{%- set default_team = "'default'" -%}
{%- set fast_lane_pool = "'#fast_lane'" -%}
{%- set rules_relation = ref('routing_rules') -%}
{{- lead_scoring.check_routing_rule_columns(rules_relation) }}
with scores as (
    select lead_id, account_id, lead_score, score_gain_7d, grade, is_sdr_ready
    from {{ ref('lead_scores') }}
),

profiles as (
    select lead_id, country_code, industry, employee_count
    from {{ ref('int_lead_profiles_resolved') }}
    where offset_days = 0
),

reps as (
    select
        rep_id,
        team,
        role,
        daily_capacity,
        out_of_office,
        crm_owner_id
    from {{ ref('int_sales_reps_resolved') }}
),

available_reps as (
    select * from reps where not out_of_office and daily_capacity > 0
),

rules as (
    select * from {{ rules_relation }}
),

crm_owners as (
    select record_type, record_id, owner_id, rep_id
    from {{ ref('int_crm_owners_mapped_to_reps') }}
),

{#- Slot numbers 1..1000 (the largest daily_capacity the roster allows). -#}
numbers as (
    select cast(generated_number as integer) as n
    from ({{ dbt.generate_series(1000) }}) as series
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
        and points.last_occurred_at < {{ day_end }}
    {%- else %}
    select
        lead_id,
        cast(null as {{ dbt.type_string() }}) as reason_label,
        1 as request_rank
    from scores
    where 1 = 0
    {%- endif %}
),

{#- ---- State: this model's rows of earlier as-of dates. ---- -#}
history as (
    {%- if has_history %}
    select
        lead_id, account_id, team, rep_id, crm_owner_id, routing_rule,
        queued_since, assigned_at, as_of_date
    from {{ this }}
    where as_of_date < {{ as_of }}
    {%- else %}
    select
        {%- for column in ['lead_id', 'account_id', 'team', 'rep_id', 'crm_owner_id', 'routing_rule'] %}
        cast(null as {{ dbt.type_string() }}) as {{ column }},
        {%- endfor %}
        cast(null as date) as queued_since,
        cast(null as {{ dbt.type_timestamp() }}) as assigned_at,
        cast(null as date) as as_of_date
    where 1 = 0
    {%- endif %}
),

{#- Each lead's latest assignment before the as-of date. -#}
current_assignments as (
    select *
    from (
        select
            history.*,
            row_number() over (partition by history.lead_id order by history.as_of_date desc)
                as assignment_rank
        from history
        where history.rep_id is not null
    ) as assignments
    where assignment_rank = 1
),

assigned_30d as (
    select rep_id, count(*) as lead_count
    from history
    where rep_id is not null
        and as_of_date >= {{ lead_scoring.as_of_date_minus_sql(29) }}
    group by rep_id
),

{#- Leads waiting in a queue on the previous routing date: their wait goes on. -#}
waiting as (
    select history.lead_id, history.queued_since
    from history
    where history.rep_id is null
        and history.as_of_date = (select max(previous.as_of_date) from history as previous)
),

assignment_clocks as (
    {{ lead_scoring.assignment_follow_ups_sql('current_assignments') }}
),

{#- Assignments with no follow-up when the SLA and the second window have
    passed (lead_scoring__sla_reassign_after_hours; none while it is null). -#}
overdue_assignments as (
    select lead_id, team, rep_id, routing_rule
    from assignment_clocks
    where reassign_at <= {{ day_end }}
        and first_follow_up_at is null
        and routing_rule <> 'crm_owner'
),

{#- Leads someone holds in the CRM (held_in_crm), against the owners this
    routing gave them on any earlier run ({{ this }}). -#}
{{ lead_scoring.held_in_crm_ctes(this if has_history else none) }},

{#- ---- Today's candidates, in priority order. ---- -#}
candidates as (
    select
        scores.*,
        overdue_assignments.lead_id is not null as is_reassignment,
        overdue_assignments.team as previous_team,
        overdue_assignments.rep_id as previous_rep_id,
        overdue_assignments.routing_rule as previous_rule
    from scores
    left join current_assignments
        on current_assignments.lead_id = scores.lead_id
    left join overdue_assignments
        on overdue_assignments.lead_id = scores.lead_id
    left join held_in_crm
        on held_in_crm.lead_id = scores.lead_id
    where held_in_crm.lead_id is null
        and ((scores.is_sdr_ready and current_assignments.lead_id is null)
            or overdue_assignments.lead_id is not null)
),

ranked as (
    select
        candidates.*,
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
            when candidates.grade like 'A%'
                and candidates.score_gain_7d
                >= {{ lead_scoring.number_var('lead_scoring__fast_lane_min_gain_7d') }}
                then 'grade ' || candidates.grade || ', +'
                || cast(candidates.score_gain_7d as {{ dbt.type_string() }}) || ' in 7 days'
            when recent_requests.reason_label is not null
                then recent_requests.reason_label || ' recently'
        end as fast_lane_reason,
        row_number() over (
            order by candidates.lead_score desc, candidates.score_gain_7d desc, candidates.lead_id asc
        ) as priority_rank,
        row_number() over (
            partition by candidates.is_reassignment, candidates.account_id,
            case when candidates.account_id is null then candidates.lead_id end
            order by candidates.lead_score desc, candidates.score_gain_7d desc, candidates.lead_id asc
        ) as account_rank
    from candidates
    left join profiles
        on profiles.lead_id = candidates.lead_id
    left join recent_requests
        on recent_requests.lead_id = candidates.lead_id
        and recent_requests.request_rank = 1
),

new_leads as (
    select * from ranked where not is_reassignment
),

{#- ---- 0. Leads owned in the CRM by a rep: recorded, not routed. ---- -#}
crm_owner_assigned as (
    select
        scores.lead_id,
        reps.team,
        reps.rep_id,
        'crm_owner' as routing_rule,
        'owned in the CRM by ' || held_in_crm.owner_id || ': rep ' || reps.rep_id as assigned_reason
    from scores
    inner join held_in_crm
        on held_in_crm.lead_id = scores.lead_id
    inner join reps
        on reps.rep_id = held_in_crm.rep_id
    left join current_assignments
        on current_assignments.lead_id = scores.lead_id
    where scores.is_sdr_ready and current_assignments.lead_id is null
),

{#- ---- 1. Account owner: the account's CRM owner when a rep is, else the
    rep of the account's latest lead this routing assigned. ---- -#}
routed_accounts as (
    select
        account_id,
        lead_id,
        rep_id,
        row_number() over (partition by account_id order by as_of_date desc, lead_id asc) as recency_rank
    from history
    where rep_id is not null and routing_rule <> 'crm_owner' and account_id is not null
),

account_owner_options as (
    select
        record_id as account_id,
        rep_id,
        1 as option_rank,
        'account owned in the CRM by ' || owner_id as owner_reason
    from crm_owners
    where record_type = 'company' and rep_id is not null
    union all
    select
        account_id,
        rep_id,
        2 as option_rank,
        'same account as ' || lead_id as owner_reason
    from routed_accounts
    where recency_rank = 1
),

account_owners as (
    select
        options.account_id,
        options.owner_reason,
        reps.rep_id,
        reps.team,
        case when reps.out_of_office then 0 else reps.daily_capacity end as capacity_today,
        reps.out_of_office
    from (
        select
            account_owner_options.*,
            row_number() over (
                partition by account_owner_options.account_id
                order by account_owner_options.option_rank
            ) as owner_rank
        from account_owner_options
    ) as options
    inner join reps
        on reps.rep_id = options.rep_id
    where options.owner_rank = 1
),

owned_account_leads as (
    select
        new_leads.lead_id,
        account_owners.*,
        row_number() over (
            partition by account_owners.rep_id order by new_leads.priority_rank
        ) as rep_rank
    from new_leads
    inner join account_owners
        on account_owners.account_id = new_leads.account_id
),

owner_assigned as (
    select
        lead_id,
        team,
        case when rep_rank <= capacity_today then rep_id end as rep_id,
        'account_owner' as routing_rule,
        owner_reason || ': its rep ' || rep_id
        || case
            when rep_rank <= capacity_today then ''
            when out_of_office then ' is out of office, queued'
            else ' has no capacity left today, queued'
        end as assigned_reason
    from owned_account_leads
),

{#- ---- 2. Fast lane. ---- -#}
fast_lane_leads as (
    select
        new_leads.lead_id,
        new_leads.fast_lane_reason,
        row_number() over (order by new_leads.priority_rank) as pool_rank
    from new_leads
    left join account_owners
        on account_owners.account_id = new_leads.account_id
    where account_owners.account_id is null
        and new_leads.account_rank = 1
        and new_leads.fast_lane_reason is not null
),

used_before_fast_lane as (
    select rep_id, count(*) as lead_count
    from owner_assigned
    where rep_id is not null
    group by rep_id
),

fast_lane_reps as (
    select
        {{ fast_lane_pool }} as pool,
        available_reps.rep_id,
        available_reps.team,
        available_reps.daily_capacity,
        coalesce(used_before_fast_lane.lead_count, 0) as used_today,
        coalesce(assigned_30d.lead_count, 0) as assigned_30d
    from available_reps
    left join used_before_fast_lane
        on used_before_fast_lane.rep_id = available_reps.rep_id
    left join assigned_30d
        on assigned_30d.rep_id = available_reps.rep_id
    where available_reps.role in ('senior', 'ae')
),

fast_lane_slots as (
    {{ lead_scoring.round_robin_slots('fast_lane_reps') }}
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
        on fast_lane_slots.slot_number = fast_lane_leads.pool_rank
),

{#- ---- 3. Reassignment: another rep of the previous team (of the fast lane
    for a fast-lane lead). A rep whose own leads are reassigned today gets no
    reassigned lead of that pool today. ---- -#}
reassign_leads as (
    select
        lead_id,
        priority_rank,
        previous_team,
        previous_rep_id,
        case when previous_rule = 'fast_lane' then {{ fast_lane_pool }} else previous_team end as pool
    from ranked
    where is_reassignment
),

reassign_leads_ranked as (
    select
        reassign_leads.*,
        row_number() over (
            partition by reassign_leads.pool order by reassign_leads.priority_rank
        ) as pool_rank
    from reassign_leads
),

used_before_reassignment as (
    select rep_id, count(*) as lead_count
    from (
        select rep_id from owner_assigned
        union all
        select rep_id from fast_lane_assigned
    ) as assigned
    where rep_id is not null
    group by rep_id
),

reassign_reps as (
    select
        pools.pool,
        available_reps.rep_id,
        available_reps.team,
        available_reps.daily_capacity,
        coalesce(used_before_reassignment.lead_count, 0) as used_today,
        coalesce(assigned_30d.lead_count, 0) as assigned_30d
    from (select distinct pool from reassign_leads) as pools
    inner join available_reps
        on (pools.pool = {{ fast_lane_pool }} and available_reps.role in ('senior', 'ae'))
        or pools.pool = available_reps.team
    left join used_before_reassignment
        on used_before_reassignment.rep_id = available_reps.rep_id
    left join assigned_30d
        on assigned_30d.rep_id = available_reps.rep_id
    where not exists (
        select 1
        from reassign_leads as reassigned_today
        where reassigned_today.pool = pools.pool
            and reassigned_today.previous_rep_id = available_reps.rep_id
    )
),

reassign_slots as (
    {{ lead_scoring.round_robin_slots('reassign_reps') }}
),

reassign_assigned as (
    select
        reassign_leads.lead_id,
        coalesce(reassign_slots.team, reassign_leads.previous_team) as team,
        reassign_slots.rep_id,
        'reassigned' as routing_rule,
        'reassigned: no follow-up from ' || reassign_leads.previous_rep_id
        || ' within the SLA and {{ reassign_hours }} more hours'
        || case
            when reassign_slots.rep_id is not null then ', round-robin'
            else ', queued: no other rep has capacity left today'
        end as assigned_reason
    from reassign_leads_ranked as reassign_leads
    left join reassign_slots
        on reassign_slots.pool = reassign_leads.pool
        and reassign_slots.slot_number = reassign_leads.pool_rank
),

{#- ---- 4. Rules and the team round-robin, for first leads of accounts not
    owned and not taken by the fast lane. ---- -#}
rule_matches as (
    select
        new_leads.lead_id,
        rules.rule_name,
        rules.team,
        row_number() over (partition by new_leads.lead_id order by rules.priority) as match_rank
    from new_leads
    inner join rules
        on (rules.countries is null
            or ('|' || rules.countries || '|') like ('%|' || new_leads.country_code || '|%'))
        and (rules.segment is null or rules.segment = new_leads.segment)
        and (rules.industries is null
            or ('|' || rules.industries || '|') like ('%|' || new_leads.industry || '|%'))
        and (rules.min_employees is null or new_leads.employee_count >= rules.min_employees)
        and (rules.max_employees is null or new_leads.employee_count <= rules.max_employees)
    where new_leads.account_rank = 1
),

teams as (
    select distinct team from reps
),

team_leads as (
    select
        new_leads.lead_id,
        new_leads.priority_rank,
        new_leads.fast_lane_reason,
        case when teams.team is not null then rule_matches.team else {{ default_team }} end as team,
        case when teams.team is not null then rule_matches.rule_name else 'default' end
            as routing_rule
    from new_leads
    left join account_owners
        on account_owners.account_id = new_leads.account_id
    left join fast_lane_assigned
        on fast_lane_assigned.lead_id = new_leads.lead_id
    left join rule_matches
        on rule_matches.lead_id = new_leads.lead_id
        and rule_matches.match_rank = 1
    left join teams
        on teams.team = rule_matches.team
    where new_leads.account_rank = 1
        and account_owners.account_id is null
        and fast_lane_assigned.lead_id is null
),

team_leads_ranked as (
    select
        team_leads.*,
        row_number() over (
            partition by team_leads.team order by team_leads.priority_rank
        ) as pool_rank
    from team_leads
),

used_before_rules as (
    select rep_id, count(*) as lead_count
    from (
        select rep_id from owner_assigned
        union all
        select rep_id from fast_lane_assigned
        union all
        select rep_id from reassign_assigned
    ) as assigned
    where rep_id is not null
    group by rep_id
),

team_reps as (
    select
        available_reps.team as pool,
        available_reps.rep_id,
        available_reps.team,
        available_reps.daily_capacity,
        coalesce(used_before_rules.lead_count, 0) as used_today,
        coalesce(assigned_30d.lead_count, 0) as assigned_30d
    from available_reps
    left join used_before_rules
        on used_before_rules.rep_id = available_reps.rep_id
    left join assigned_30d
        on assigned_30d.rep_id = available_reps.rep_id
),

team_slots as (
    {{ lead_scoring.round_robin_slots('team_reps') }}
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
        on team_slots.pool = team_leads.team
        and team_slots.slot_number = team_leads.pool_rank
),

first_leads as (
    select * from fast_lane_assigned
    union all
    select * from team_assigned
),

{#- ---- 5. The other leads of an account routed by 2-4 follow its first
    lead: to its rep while the rep has capacity left after steps 1-4, else to
    the queue. ---- -#}
followers as (
    select
        new_leads.lead_id,
        new_leads.priority_rank,
        owners.lead_id as owner_lead_id,
        owners.team,
        owners.rep_id as owner_rep_id,
        row_number() over (
            partition by owners.rep_id order by new_leads.priority_rank
        ) as follower_rank
    from new_leads
    inner join new_leads as account_firsts
        on account_firsts.account_id = new_leads.account_id
        and account_firsts.account_rank = 1
    inner join first_leads as owners
        on owners.lead_id = account_firsts.lead_id
    where new_leads.account_rank > 1
),

used_before_followers as (
    select rep_id, count(*) as lead_count
    from (
        select rep_id from owner_assigned
        union all
        select rep_id from reassign_assigned
        union all
        select rep_id from first_leads
    ) as assigned
    where rep_id is not null
    group by rep_id
),

followers_assigned as (
    select
        followers.lead_id,
        followers.team,
        case
            when followers.follower_rank + coalesce(used.lead_count, 0) <= reps.daily_capacity
                then followers.owner_rep_id
        end as rep_id,
        'account_owner' as routing_rule,
        'same account as ' || followers.owner_lead_id
        || case
            when followers.owner_rep_id is null then ', which is queued: queued with it'
            when followers.follower_rank + coalesce(used.lead_count, 0) <= reps.daily_capacity
                then ': its rep ' || followers.owner_rep_id
            else ': its rep ' || followers.owner_rep_id || ' has no capacity left today, queued'
        end as assigned_reason
    from followers
    left join used_before_followers as used
        on used.rep_id = followers.owner_rep_id
    left join reps
        on reps.rep_id = followers.owner_rep_id
),

routed as (
    select * from crm_owner_assigned
    union all
    select * from owner_assigned
    union all
    select * from reassign_assigned
    union all
    select * from first_leads
    union all
    select * from followers_assigned
),

{#- ---- 6. Queue positions, waits and the assignment's details. ---- -#}
decided as (
    select
        routed.*,
        ranked.priority_rank,
        case
            when routed.rep_id is null then coalesce(waiting.queued_since, {{ as_of }})
            else waiting.queued_since
        end as queued_since
    from routed
    left join ranked
        on ranked.lead_id = routed.lead_id
    left join waiting
        on waiting.lead_id = routed.lead_id
),

final as (
    select
        scores.lead_id,
        scores.account_id,
        scores.lead_score,
        scores.score_gain_7d,
        scores.grade,
        decided.team,
        decided.rep_id,
        reps.crm_owner_id,
        decided.routing_rule,
        case
            when decided.rep_id is null then row_number() over (
                partition by decided.team, case when decided.rep_id is null then 1 else 0 end
                order by decided.priority_rank
            )
        end as queue_position,
        decided.queued_since,
        coalesce({{ dbt.datediff('decided.queued_since', as_of, 'day') }}, 0) as wait_days,
        case when decided.rep_id is not null then {{ day_end }} end as assigned_at,
        decided.assigned_reason,
        {{ as_of }} as as_of_date
    from decided
    inner join scores
        on scores.lead_id = decided.lead_id
    left join reps
        on reps.rep_id = decided.rep_id
)

select * from final
