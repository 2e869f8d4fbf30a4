{#- The last nurture rule matches every lead, so every lead gets a track. -#}
select *
from {{ ref('nurture_track_rules') }}
where priority = (select max(priority) from {{ ref('nurture_track_rules') }})
    and not (
        lifecycle_stage = '*' and quadrant = '*' and deal_outcome = '*'
        and product_milestone = '*' and is_new_lead = '*'
    )
