{#- Grain: one row per lead and signal as of the as-of date: each fit
    dimension (signal e.g. seniority:vp) and each event type the lead has
    events of (signal = the event type), with its points and age in days
    (for fit: of the profile value used; for pain: of the latest event). -#}
{#- The contributions mart keeps the scored leads (its inner join with the
    scores), so no lead filter here. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
with fit_signals as (
    select
        lead_id,
        signal,
        'fit' as signal_type,
        points,
        reason_label,
        observed_at as last_occurred_at,
        cast(null as bigint) as event_count
    from {{ ref('int_lead_fit_signals_scored') }}
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
    select * from fit_signals
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
