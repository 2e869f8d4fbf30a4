{#- A rep out of office gets no lead on the as-of date (a lead the rep owns in
    the CRM is recorded all the same). -#}
select routing.*
from {{ ref('lead_routing') }} as routing
inner join {{ ref('int_sales_reps_resolved') }} as reps
    on reps.rep_id = routing.rep_id
where reps.out_of_office
    and routing.as_of_date = {{ lead_scoring.as_of_date_sql() }}
    and routing.routing_rule <> 'crm_owner'
