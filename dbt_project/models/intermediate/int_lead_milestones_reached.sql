{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored() }}"
) }}
{%- set mode = lead_scoring.rescore_mode() -%}
{#- Grain: one row per scored lead as of the as-of date: when it first crossed
    the SDR-ready threshold (in lead_score_history up to the as-of date, with
    the current thresholds: int_lead_thresholds_first_crossed), whether
    profile alone got it there, its deal outcome and its lifecycle stage.

    Stage policy: iql (every contact: gave contact details) < mql (an event
    marked mql in event_weights, pain_score ever at or above the MQL pain
    threshold, or lead_score ever SDR-ready) < sql (a deal was created: agreed to talk to sales) <
    customer (a deal was won). Every criterion is a fact that stays true once
    reached, so the stage does not go backwards: a lost deal keeps the lead
    sql, decayed points keep it mql. Exceptions (docs/scoring.md): a past
    as-of date shows the stage of that date; deals deleted or reopened in the
    CRM and changed rules re-derive the stage. A table: lead_scores reads it
    directly and through int_lead_nurture_tracks_assigned. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
with scores as (
    select * from {{ lead_scoring.rescored_rows(ref('int_lead_scores_combined'), mode) }} as rescored
),

score_end as (
    select score_end_at from ({{ lead_scoring.score_dates_sql() }}) as score_dates
    where offset_days = 0
),

crossed as (
    select * from {{ ref('int_lead_thresholds_first_crossed') }}
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
        crossed.sdr_ready_at,
        coalesce(crossed.is_sdr_ready_on_profile, false) as is_sdr_ready_on_profile,
        {{ dbt.datediff('scores.lead_created_at', 'crossed.sdr_ready_at', 'day') }}
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
                or crossed.mql_by_pain_date is not null
                or crossed.sdr_ready_date is not null then 'mql'
            else 'iql'
        end as lifecycle_stage
    from scores
    left join crossed
        on crossed.lead_id = scores.lead_id
    left join deal_facts
        on deal_facts.lead_id = scores.lead_id
)

select * from reached
