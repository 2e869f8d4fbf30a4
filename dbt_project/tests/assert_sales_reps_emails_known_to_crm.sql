{{ config(severity='warn') }}
{#- A rep whose e-mail is no active CRM owner's (or is shared by several) and
    who has no crm_owner_id gets leads, but no owner is written for them and
    the CRM's owners cannot name the rep. A warning, not an error: a real CRM
    with the example roster still scores and routes, just without owners.
    Checked when the CRM's owners have been read (the table is not empty); the
    warning names the reps. -#}
{%- set check_sql -%}
select
    reps.rep_id,
    reps.email,
    count(owners.owner_id) as active_owners_with_the_email
from {{ ref('int_sales_reps_resolved') }} as reps
left join {{ ref('stg_crm__owners') }} as owners
    on owners.email = reps.email
    and owners.is_active
    and not owners.is_unassigned
where reps.crm_owner_source is null
    and reps.email is not null
    and exists (select 1 from {{ ref('stg_crm__owners') }})
group by reps.rep_id, reps.email
order by reps.rep_id
{%- endset -%}
{{ lead_scoring.warn_with_message(check_sql,
    "seeds/sales_reps.csv: a rep's e-mail matches no active CRM owner (or several), so no"
    ~ " owner is written for the rep's leads; set the rep's email or crm_owner_id"
    ~ " (rep_id email active_owners_with_the_email)") }}
