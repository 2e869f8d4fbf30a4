{#- The last routing rule matches every lead and sends it to the default team,
    so every SDR-ready lead gets a team. -#}
select rules.*
from {{ ref('routing_rules') }} as rules
where rules.priority = (select max(all_rules.priority) from {{ ref('routing_rules') }} as all_rules)
    and not (
        rules.countries is null and rules.segment is null and rules.industries is null
        and rules.min_employees is null and rules.max_employees is null
        and rules.team = 'default'
    )
