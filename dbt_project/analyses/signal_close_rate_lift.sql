{#- Weights from data, not gut feeling (docs/scoring.md, "Changing a weight").
    For every signal: how many closed leads had it, and the lift in close rate
    (won / closed) among leads that had it over all closed leads. A lift of
    +25% suggests about 25 points; signals under ~5% lift can go.
    Signals are the scored ones (signal_rules signals with points, event
    types) and, as candidates for new signal_rules rows, every other
    non-numeric attribute value a lead has (signal_type attribute, e.g.
    lead_source:PAID_SEARCH; docs/signals.md).
    Compile with `dbt compile -s signal_close_rate_lift` and run the SQL in
    target/compiled/ against the warehouse. -#}
with contributions as (
    select distinct lead_id, signal, signal_type
    from {{ ref('lead_score_contributions') }}
    where points <> 0 or event_count is not null
    union
    select distinct
        lead_id,
        attribute || ':' || attribute_value as signal,
        'attribute' as signal_type
    from {{ ref('int_lead_attributes_resolved') }}
    where offset_days = 0
        and value_number is null
        and attribute || ':' || attribute_value not in (
            select signal_rules.signal from {{ ref('signal_rules') }} as signal_rules
        )
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
