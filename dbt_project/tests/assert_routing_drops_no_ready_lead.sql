{#- No SDR-ready lead is silently dropped: each one is assigned (on the as-of
    date or before), waits in a queue on the as-of date, or is held by an
    owner in the CRM. -#}
select ready.lead_id, ready.lead_score
from {{ ref('lead_scores') }} as ready
where ready.is_sdr_ready
    and not exists (
        select 1
        from {{ ref('lead_routing') }} as routing
        where routing.lead_id = ready.lead_id
            and routing.as_of_date <= {{ lead_scoring.as_of_date_sql() }}
            and (routing.rep_id is not null
                or routing.as_of_date = {{ lead_scoring.as_of_date_sql() }})
    )
    and not exists (
        select 1
        from {{ ref('int_crm_owners_mapped_to_reps') }} as owned
        where owned.record_type = 'contact'
            and owned.record_id = ready.lead_id
    )
