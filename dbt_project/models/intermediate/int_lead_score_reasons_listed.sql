{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored() }}"
) }}
{%- set mode = lead_scoring.rescore_mode() -%}
{#- Grain: one row per scored lead: score_reasons, its top signals by absolute
    points (at most lead_scoring__max_score_reasons, under 1,024 characters),
    e.g. "+25 created a document (2d ago); -15 careers page (5d ago)".
    Signals worth 0 points once rounded are left out; an event type shows the
    age of its latest event, an attribute signal (fit or pain) no age. -#}
{#- Read from the contributions mart, which holds the same rows, so the union
    behind them is computed once per run. A table, not a view: ranking every
    lead's signals is a statement of its own, so lead_scores only joins (at
    10M leads the two in one statement ran out of DuckDB's memory). -#}
with contributions as (
    select * from {{ lead_scoring.rescored_rows(ref('lead_score_contributions'), mode) }} as rescored
),

leads as (
    select lead_id
    from {{ lead_scoring.rescored_rows(ref('int_lead_scores_combined'), mode) }} as rescored
),

ranked as (
    select
        lead_id,
        signal_type,
        points,
        reason_label,
        event_count,
        age_days,
        row_number() over (
            partition by lead_id order by abs(points) desc, signal_type desc, signal asc
        ) as reason_rank
    from contributions
    where round(abs(points)) >= 1
),

{#- Only the kept signals are worded: the strings are built for at most
    max_score_reasons rows per lead. -#}
worded as (
    select
        lead_id,
        reason_rank,
        case when points > 0 then '+' else '-' end
            || cast(cast(round(abs(points)) as integer) as {{ dbt.type_string() }})
            || ' ' || reason_label
            || case
                when event_count is not null
                    then ' (' || cast(age_days as {{ dbt.type_string() }}) || 'd ago)'
                else ''
            end as reason
    from ranked
    where reason_rank <= {{ lead_scoring.number_var('lead_scoring__max_score_reasons') }}
),

listed as (
    select
        lead_id,
        {{ dbt.listagg('reason', "'; '", 'order by reason_rank') }} as score_reasons
    from worded
    group by lead_id
),

bounded as (
    select
        leads.lead_id,
        substr(coalesce(listed.score_reasons, ''), 1, 1000) as score_reasons
    from leads
    left join listed
        on listed.lead_id = leads.lead_id
)

select * from bounded
