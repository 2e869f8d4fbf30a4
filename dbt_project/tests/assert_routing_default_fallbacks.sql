{{ config(severity='warn') }}
{#- Leads sent to the default team on the as-of date because no rule matched
    a team that has a rep (a rule naming a team missing from sales_reps). The
    warning counts them; the routing itself goes on. -#}
select lead_id, team, assigned_reason
from {{ ref('lead_routing') }}
where routing_rule = 'default'
    and as_of_date = {{ lead_scoring.as_of_date_sql() }}
