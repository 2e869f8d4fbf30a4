{#- Product engagement is the strongest signal: the strongest product event and
    the average positive product event outweigh their marketing counterparts. -#}
with positive as (
    select event_source, max(points) as max_points, avg(points) as mean_points
    from {{ ref('event_weights') }}
    where points > 0
    group by event_source
),

product as (select * from positive where event_source = 'product'),

marketing as (select * from positive where event_source = 'marketing')

select product.*
from product
cross join marketing
where product.max_points <= marketing.max_points
    or product.mean_points <= marketing.mean_points
