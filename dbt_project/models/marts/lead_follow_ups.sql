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
    passed after sla_due_at, and the contact's owner in the CRM is none this
    routing ever gave the lead (the same rule as lead_routing's); lead_routing
    then gives the lead another rep. -#}
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

crm_owners as (
    select record_type, record_id, owner_id, rep_id
    from {{ ref('int_crm_owners_mapped_to_reps') }}
),

reps as (
    select rep_id, crm_owner_id
    from {{ ref('int_sales_reps_resolved') }}
),

{#- Leads someone holds in the CRM: an owner none of this routing's (as
    lead_routing decides it). -#}
{{ lead_scoring.held_in_crm_ctes(ref('lead_routing')) }},

statuses as (
    select
        clocks.*,
        case
            when clocks.first_follow_up_at <= clocks.sla_due_at then 'met'
            when clocks.sla_due_at <= {{ day_end }} then 'breached'
            else 'open'
        end as sla_status,
        held_in_crm.lead_id is not null as is_held_by_another_owner
    from clocks
    left join held_in_crm
        on held_in_crm.lead_id = clocks.lead_id
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
