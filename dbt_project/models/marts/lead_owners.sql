{#- Grain: one row per lead that has a rep: its current assignment, the latest
    lead_routing row with a rep up to the as-of date, for leads still scored
    (a lead merged into another or forgotten drops out). Read by the CRM sync,
    which writes crm_owner_id (when set) as the record's owner. crm_owner_id
    is the rep's id in the roster now, else the one recorded at assignment. -#}
with assignments as (
    select
        lead_id,
        rep_id,
        crm_owner_id,
        team,
        routing_rule,
        assigned_at,
        as_of_date,
        row_number() over (partition by lead_id order by as_of_date desc) as assignment_rank
    from {{ ref('lead_routing') }}
    where rep_id is not null
        and as_of_date <= {{ lead_scoring.as_of_date_sql() }}
),

leads as (
    select lead_id from {{ ref('lead_scores') }}
),

reps as (
    select rep_id, crm_owner_id
    from {{ ref('int_sales_reps_resolved') }}
),

current_owners as (
    select
        assignments.lead_id,
        assignments.rep_id,
        coalesce(reps.crm_owner_id, assignments.crm_owner_id) as crm_owner_id,
        assignments.team,
        assignments.routing_rule,
        assignments.assigned_at,
        assignments.as_of_date as assigned_on
    from assignments
    inner join leads
        on leads.lead_id = assignments.lead_id
    left join reps
        on reps.rep_id = assignments.rep_id
    where assignments.assignment_rank = 1
)

select * from current_owners
