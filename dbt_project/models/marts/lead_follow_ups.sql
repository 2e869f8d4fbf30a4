{#- Grain: one row per assignment (lead_id, rep_id, assigned_at) in
    lead_routing up to the as-of date: its follow-up SLA as of the end of the
    as-of date (docs/routing.md, "The follow-up SLA").
    sla_due_at = assigned_at + lead_scoring__sla_hours (weekend hours not
    counted with lead_scoring__sla_weekdays_only); the first follow-up is the
    first follow-up activity on the lead at or after assigned_at and at or
    before the end of the as-of date. met: it came at or before sla_due_at;
    breached: sla_due_at has passed without one; open: neither yet.
    reassign_due: the lead's current assignment (not a CRM owner's) still has
    no follow-up when lead_scoring__sla_reassign_after_hours more hours have
    passed after sla_due_at, and nobody gave the lead another owner in the CRM
    since; lead_routing then gives the lead another rep. -#}
{%- set day_end = lead_scoring.score_end_at_sql(0) -%}
with assignments as (
    select
        lead_id,
        rep_id,
        crm_owner_id,
        team,
        routing_rule,
        assigned_at,
        as_of_date as assigned_on,
        row_number() over (partition by lead_id order by as_of_date desc) = 1
            as is_current_assignment
    from {{ ref('lead_routing') }}
    where rep_id is not null
        and as_of_date <= {{ lead_scoring.as_of_date_sql() }}
),

clocks as (
    {{ lead_scoring.assignment_follow_ups_sql('assignments') }}
),

{#- Leads whose contact has an owner in the CRM other than the one this
    routing gave them (as recorded, or as the roster now says). -#}
held_in_crm as (
    select owners.record_id as lead_id, owners.owner_id
    from {{ ref('int_crm_owners_mapped_to_reps') }} as owners
    where owners.record_type = 'contact'
),

roster_owner_ids as (
    select rep_id, crm_owner_id
    from {{ ref('int_sales_reps_resolved') }}
),

statuses as (
    select
        clocks.*,
        case
            when clocks.first_follow_up_at <= clocks.sla_due_at then 'met'
            when clocks.sla_due_at <= {{ day_end }} then 'breached'
            else 'open'
        end as sla_status,
        coalesce(
            held_in_crm.owner_id is not null
            and (clocks.crm_owner_id is null or held_in_crm.owner_id <> clocks.crm_owner_id)
            and (roster_owner_ids.crm_owner_id is null
                or held_in_crm.owner_id <> roster_owner_ids.crm_owner_id),
            false
        ) as is_held_by_another_owner
    from clocks
    left join held_in_crm
        on held_in_crm.lead_id = clocks.lead_id
    left join roster_owner_ids
        on roster_owner_ids.rep_id = clocks.rep_id
),

final as (
    select
        lead_id,
        rep_id,
        assigned_at,
        team,
        routing_rule,
        assigned_on,
        is_current_assignment,
        sla_due_at,
        first_follow_up_at,
        cast({{ dbt.datediff('assigned_at', 'first_follow_up_at', 'second') }}
            as {{ lead_scoring.type_double() }}) / 3600 as hours_to_follow_up,
        sla_status,
        sla_status = 'breached' as is_breached,
        coalesce(
            is_current_assignment
            and routing_rule <> 'crm_owner'
            and not is_held_by_another_owner
            and first_follow_up_at is null
            and reassign_at <= {{ day_end }},
            false
        ) as reassign_due,
        {{ lead_scoring.as_of_date_sql() }} as as_of_date
    from statuses
)

select * from final
