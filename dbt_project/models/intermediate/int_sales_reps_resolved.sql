{#- Grain: one row per rep of the roster (seeds/sales_reps.csv): the seed's
    columns, with each rep's CRM owner resolved (docs/routing.md, "The
    roster"). crm_owner_id is the seed's crm_owner_id when set (source
    'roster'), else the id of the one active CRM owner (stg_crm__owners; not an
    id that means "nobody yet") whose e-mail equals the rep's, compared without
    case (source 'email'), else null (no owner is written for the rep's leads;
    the warning test assert_sales_reps_emails_known_to_crm names such reps
    when the CRM's owners have been read). Every model reads the roster from
    here, so a roster of e-mails routes to the CRM's owners without a per-CRM
    copy of their ids. -#}
with reps as (
    select
        rep_id,
        name,
        team,
        role,
        territory,
        segment,
        vertical,
        daily_capacity,
        out_of_office,
        lower({{ lead_scoring.clean_text('email') }}) as email,
        {{ lead_scoring.clean_text('crm_owner_id') }} as roster_owner_id
    from {{ ref('sales_reps') }}
),

active_owners as (
    select owner_id, email
    from {{ ref('stg_crm__owners') }}
    where is_active and not is_unassigned and email is not null
),

{#- The active owners with each rep's e-mail: one is the rep's owner; none, or
    several (an e-mail two users share), is no owner. -#}
email_owners as (
    select
        reps.rep_id,
        min(active_owners.owner_id) as owner_id,
        count(*) as owner_count
    from reps
    inner join active_owners
        on active_owners.email = reps.email
    group by reps.rep_id
),

resolved as (
    select
        reps.rep_id,
        reps.name,
        reps.team,
        reps.role,
        reps.territory,
        reps.segment,
        reps.vertical,
        reps.daily_capacity,
        reps.out_of_office,
        reps.email,
        case
            when reps.roster_owner_id is not null then reps.roster_owner_id
            when email_owners.owner_count = 1 then email_owners.owner_id
        end as crm_owner_id,
        case
            when reps.roster_owner_id is not null then 'roster'
            when email_owners.owner_count = 1 then 'email'
        end as crm_owner_source
    from reps
    left join email_owners
        on email_owners.rep_id = reps.rep_id
)

select * from resolved
