{#- No rep gets more leads than their daily_capacity. -#}
select
    routing.rep_id,
    count(*) as lead_count,
    max(reps.daily_capacity) as daily_capacity
from {{ ref('lead_routing') }} as routing
inner join {{ ref('sales_reps') }} as reps
    on reps.rep_id = routing.rep_id
group by routing.rep_id
having count(*) > max(reps.daily_capacity)
