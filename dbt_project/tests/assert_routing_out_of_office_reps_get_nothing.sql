{#- A rep out of office gets no lead. -#}
select routing.*
from {{ ref('lead_routing') }} as routing
inner join {{ ref('sales_reps') }} as reps
    on reps.rep_id = routing.rep_id
where reps.out_of_office
