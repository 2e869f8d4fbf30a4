{#- Grain: one row per scored lead as of the as-of date: when it first crossed
    the SDR-ready threshold (from lead_score_history up to the as-of date,
    with the current thresholds), whether profile alone got it there, its deal
    outcome and its lifecycle stage.

    Stage policy: iql (every contact: gave contact details) < mql (an event
    marked mql in event_weights, pain_score ever at or above the MQL pain
    threshold, or lead_score ever SDR-ready) < sql (a deal was created: agreed to talk to sales) <
    customer (a deal was won). Every criterion is a fact that stays true once
    reached, so the stage does not go backwards: a lost deal keeps the lead
    sql, decayed points keep it mql. Exceptions (docs/scoring.md): a past
    as-of date shows the stage of that date; deals deleted or reopened in the
    CRM and changed rules re-derive the stage. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set sdr_threshold = lead_scoring.number_var('lead_scoring__sdr_ready_threshold') -%}
with scores as (
    select * from {{ ref('int_lead_scores_combined') }}
),

score_end as (
    select score_end_at from ({{ lead_scoring.score_dates_sql() }}) as score_dates
    where offset_days = 0
),

history as (
    select * from {{ ref('lead_score_history') }}
    where as_of_date <= {{ as_of }}
),

first_sdr_ready as (
    select
        lead_id,
        score_changed_at as sdr_ready_at,
        fit_score >= {{ sdr_threshold }} as is_sdr_ready_on_profile,
        row_number() over (partition by lead_id order by as_of_date) as crossing_rank
    from history
    where lead_score >= {{ sdr_threshold }}
),

mql_by_pain as (
    select distinct lead_id
    from history
    where pain_score >= {{ lead_scoring.number_var('lead_scoring__mql_pain_threshold') }}
),

deals as (
    select
        mapped.lead_id,
        deals.created_at,
        case
            when deals.deal_stage in ('closedwon', 'closedlost')
                then coalesce(deals.closed_at, deals.updated_at)
        end as closed_at,
        deals.deal_stage
    from {{ ref('stg_crm__deals') }} as deals
    inner join {{ ref('int_contacts_mapped_to_leads') }} as mapped
        on mapped.contact_id = deals.contact_id
    cross join score_end
    where deals.created_at < score_end.score_end_at
),

{#- As of the as-of date: a deal closed later was still open then. -#}
deal_facts as (
    select
        deals.lead_id,
        min(case when deals.deal_stage = 'closedwon' and deals.closed_at < score_end.score_end_at
                 then deals.closed_at end) as first_won_at,
        max(case when deals.closed_at is null or deals.closed_at >= score_end.score_end_at
                 then 1 else 0 end) as has_open_deal,
        max(case when deals.deal_stage = 'closedlost' and deals.closed_at < score_end.score_end_at
                 then 1 else 0 end) as has_lost_deal
    from deals
    cross join score_end
    group by deals.lead_id
),

reached as (
    select
        scores.lead_id,
        first_sdr_ready.sdr_ready_at,
        coalesce(first_sdr_ready.is_sdr_ready_on_profile, false) as is_sdr_ready_on_profile,
        {{ dbt.datediff('scores.lead_created_at', 'first_sdr_ready.sdr_ready_at', 'day') }}
            as days_to_sdr_ready,
        case
            when deal_facts.first_won_at is not null then
                case
                    when {{ dbt.datediff('deal_facts.first_won_at', as_of, 'day') }}
                        < {{ lead_scoring.number_var('lead_scoring__customer_onboarding_days') }}
                        then 'won_recent'
                    when {{ dbt.datediff('deal_facts.first_won_at', as_of, 'day') }}
                        >= {{ lead_scoring.number_var('lead_scoring__renewal_after_days') }}
                        then 'won_renewal_due'
                    else 'won'
                end
            when deal_facts.has_open_deal = 1 then 'open'
            when deal_facts.has_lost_deal = 1 then 'lost'
            else 'none'
        end as deal_outcome,
        case
            when deal_facts.first_won_at is not null then 'customer'
            when deal_facts.lead_id is not null then 'sql'
            when scores.has_mql_event
                or mql_by_pain.lead_id is not null
                or first_sdr_ready.lead_id is not null then 'mql'
            else 'iql'
        end as lifecycle_stage
    from scores
    left join first_sdr_ready
        on first_sdr_ready.lead_id = scores.lead_id
        and first_sdr_ready.crossing_rank = 1
    left join mql_by_pain
        on mql_by_pain.lead_id = scores.lead_id
    left join deal_facts
        on deal_facts.lead_id = scores.lead_id
)

select * from reached
