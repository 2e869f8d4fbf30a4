{#- A crm_owner_id written in the roster must name an owner the CRM has
    (stg_crm__owners), or the CRM sync would write an owner that does not
    exist. Checked when the CRM's owners have been read (the table is not
    empty). A rep found by e-mail has a known owner by construction; an e-mail
    no owner has is a warning (assert_sales_reps_emails_known_to_crm). -#}
{%- set check_sql -%}
select reps.rep_id, reps.crm_owner_id
from {{ ref('int_sales_reps_resolved') }} as reps
where reps.crm_owner_source = 'roster'
    and exists (select 1 from {{ ref('stg_crm__owners') }})
    and not exists (
        select 1
        from {{ ref('stg_crm__owners') }} as owners
        where owners.owner_id = reps.crm_owner_id
    )
{%- endset -%}
{{ lead_scoring.fail_with_message(check_sql,
    "seeds/sales_reps.csv: a rep's crm_owner_id is unknown to the CRM (not an id in"
    ~ " raw.crm_owners; rep_id crm_owner_id)") }}
