{{ config(severity='warn') }}
{#- Opens, clicks and plain page views are curiosity, not pain: by default they
    weigh 0. A warning (not an error) lets a team that measured a lift keep it. -#}
select *
from {{ ref('event_weights') }}
where event_type in ('email_open', 'email_click', 'page_view')
    and points <> 0
