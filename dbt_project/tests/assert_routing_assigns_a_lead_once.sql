{#- A lead assigned on one date is not routed again on a later one; only a
    reassignment (no follow-up within the SLA and the second window) gives it
    another rep. -#}
select lead_id, count(*) as assignments
from {{ ref('lead_routing') }}
where rep_id is not null
    and routing_rule <> 'reassigned'
group by lead_id
having count(*) > 1
