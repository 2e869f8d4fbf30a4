{#- Weights from data, not gut feeling (docs/scoring.md, "Changing a weight").
    For every signal: how many closed leads had it, and the lift in close rate
    (won / closed) among leads that had it over all closed leads. A lift of
    +25% suggests about 25 points; signals under ~5% lift can go.
    Compile with `dbt compile -s signal_close_rate_lift` and run the SQL in
    target/compiled/ against the warehouse. -#}
with contributions as (
    select distinct lead_id, signal, signal_type
    from {{ ref('lead_score_contributions') }}
    where points <> 0 or signal_type = 'pain'
),

outcomes as (
    select
        lead_id,
        case when lifecycle_stage = 'customer' then 1 else 0 end as is_won
    from {{ ref('lead_scores') }}
    where lead_id in (
        select mapped.lead_id
        from {{ ref('stg_crm__deals') }} as deals
        inner join {{ ref('int_contacts_mapped_to_leads') }} as mapped
            on mapped.contact_id = deals.contact_id
        where deals.deal_stage in ('closedwon', 'closedlost')
    )
),

baseline as (
    select avg(cast(is_won as {{ lead_scoring.type_double() }})) as close_rate from outcomes
),

by_signal as (
    select
        contributions.signal,
        contributions.signal_type,
        count(*) as closed_leads,
        avg(cast(outcomes.is_won as {{ lead_scoring.type_double() }})) as close_rate
    from contributions
    inner join outcomes
        on outcomes.lead_id = contributions.lead_id
    group by contributions.signal, contributions.signal_type
)

select
    by_signal.signal,
    by_signal.signal_type,
    by_signal.closed_leads,
    by_signal.close_rate,
    baseline.close_rate as baseline_close_rate,
    100 * (by_signal.close_rate - baseline.close_rate) / nullif(baseline.close_rate, 0)
        as lift_percent
from by_signal
cross join baseline
order by lift_percent desc
