{#- Each team's queue on the as-of date is numbered 1, 2, 3, ... without gaps
    or repeats. -#}
select
    team,
    count(*) as queued,
    min(queue_position) as first_position,
    max(queue_position) as last_position
from {{ ref('lead_routing') }}
where rep_id is null
    and as_of_date = {{ lead_scoring.as_of_date_sql() }}
group by team
having min(queue_position) <> 1
    or max(queue_position) <> count(*)
    or count(distinct queue_position) <> count(*)
