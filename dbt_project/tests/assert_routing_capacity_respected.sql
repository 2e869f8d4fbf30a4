{#- No rep gets more leads on the as-of date than their daily_capacity. Leads
    a rep already owns in the CRM (crm_owner) are recorded, not dealt, and do
    not count. -#}
select
    routing.rep_id,
    count(*) as lead_count,
    max(reps.daily_capacity) as daily_capacity
from {{ ref('lead_routing') }} as routing
inner join {{ ref('int_sales_reps_resolved') }} as reps
    on reps.rep_id = routing.rep_id
where routing.as_of_date = {{ lead_scoring.as_of_date_sql() }}
    and routing.routing_rule <> 'crm_owner'
group by routing.rep_id
having count(*) > max(reps.daily_capacity)
