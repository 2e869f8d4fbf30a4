{#- Grain: one row per lead and signal as of the as-of date: each
    signal_rules signal the lead matches (e.g. seniority:vp; signal_type is
    the rule's kind, fit or pain) and each event type the lead has events of
    (signal = the event type, signal_type pain), with its points and age in
    days (for an attribute: of the value used, null when known from the start;
    for an event type: of the latest event). -#}
{#- The contributions mart keeps the scored leads (its inner join with the
    scores), so no lead filter here. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
with attribute_signals as (
    select
        lead_id,
        signal,
        kind as signal_type,
        points,
        reason_label,
        observed_at as last_occurred_at,
        cast(null as bigint) as event_count
    from {{ ref('int_lead_signals_scored') }}
    where offset_days = 0
),

pain_signals as (
    select
        pain_points.lead_id,
        pain_points.event_type as signal,
        'pain' as signal_type,
        pain_points.points_0 as points,
        event_weights.reason_label,
        pain_points.last_occurred_at,
        pain_points.event_count
    from {{ ref('int_lead_event_points_capped') }} as pain_points
    inner join {{ ref('event_weights') }} as event_weights
        on event_weights.event_type = pain_points.event_type
),

unioned as (
    select * from attribute_signals
    union all
    select * from pain_signals
),

aged as (
    select
        unioned.lead_id,
        unioned.signal,
        unioned.signal_type,
        {{ lead_scoring.to_points('unioned.points') }} as points,
        unioned.reason_label,
        unioned.event_count,
        unioned.last_occurred_at,
        {{ dbt.datediff('unioned.last_occurred_at', as_of, 'day') }} as age_days
    from unioned
)

select * from aged
