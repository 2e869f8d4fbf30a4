{{ config(materialized='table') }}
{#- Grain: one bookkeeping row (lead_id '_state') whose rescore_mode says what
    this run's lead-level models recompute, and, when it is 'changed', one row
    per lead they recompute (macros/rescore.sql).

    'changed' needs a completed scoring (int_lead_inputs_scored) as of the same
    date under the same rules. The leads are then those whose input digest
    differs from the one that scoring recorded (new, changed or gone), those
    with decay-state rows written since (new, late or released events), and
    the leads of a run that started after that scoring and did not complete
    (this table as that run left it), whose rows it may have rewritten
    already. An unfinished run that recomputed everyone (another date) makes
    this one recompute everyone too. -#}
{%- set marker = lead_scoring.state_marker() -%}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set scored = adapter.get_relation(this.database, this.schema, 'int_lead_inputs_scored') -%}
{%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) -%}
{%- set previous = previous if previous is not none
    and 'rescore_started_at' in (adapter.get_columns_in_relation(previous)
                                 | map(attribute='name') | map('lower') | list) %}
{#- Spark recomputes everyone on every run for now: it cannot delete some leads'
    rows (macros/spark.sql), and its table materialization drops this table
    before the new one is built, so the previous one cannot be read. -#}
{%- if target.type == 'spark' -%}{%- set scored, previous = none, none -%}{%- endif %}
-- depends_on: {{ ref('int_lead_inputs_fingerprinted') }}
-- depends_on: {{ ref('int_event_subjects_resolved') }}
with current_version as (
    select model_version from {{ ref('int_scoring_rules_versioned') }}
),

decay_marker as (
    select load_watermark from {{ ref('int_subject_events_decayed') }}
    where event_source = '{{ marker }}'
),

{%- if scored is not none %}
scored_marker as (
    select * from {{ scored }} where lead_id = '{{ marker }}'
),

mode as (
    select
        case when scored_marker.as_of_date = {{ as_of }}
            and scored_marker.model_version = current_version.model_version
            {%- if previous is not none %}
            and not exists (
                select 1 from {{ previous }} as unfinished
                where unfinished.lead_id = '{{ marker }}'
                    and unfinished.rescore_mode = 'all'
                    and unfinished.rescore_started_at > scored_marker.scored_started_at
            )
            {%- endif %}
            then 'changed' else 'all'
        end as rescore_mode
    from current_version
    left join scored_marker on 1 = 1
),

changed_inputs as (
    select coalesce(current_inputs.lead_id, scored.lead_id) as lead_id
    from {{ ref('int_lead_inputs_fingerprinted') }} as current_inputs
    full outer join (select * from {{ scored }} where lead_id <> '{{ marker }}') as scored
        on scored.lead_id = current_inputs.lead_id
    where current_inputs.lead_id is null
        or scored.lead_id is null
        or current_inputs.input_fingerprint <> scored.input_fingerprint
),

new_events as (
    select subjects.lead_id
    from {{ ref('int_subject_events_decayed') }} as decayed
    cross join scored_marker
    inner join {{ ref('int_event_subjects_resolved') }} as subjects
        on subjects.event_source = decayed.event_source
        and subjects.subject_id = decayed.subject_id
    where decayed.load_watermark > scored_marker.decay_watermark
        and decayed.event_source <> '{{ marker }}'
),

{%- if previous is not none %}
unfinished as (
    select unfinished.lead_id
    from {{ previous }} as unfinished
    cross join scored_marker
    where unfinished.lead_id <> '{{ marker }}'
        and unfinished.rescore_started_at > scored_marker.scored_started_at
),
{%- endif %}

leads as (
    select lead_id from changed_inputs
    union
    select lead_id from new_events
    {%- if previous is not none %}
    union
    select lead_id from unfinished
    {%- endif %}
),
{%- else %}
mode as (
    select 'all' as rescore_mode
),
{%- endif %}

started as (
    select cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
        as rescore_started_at
),

rescored as (
    select
        '{{ marker }}' as lead_id,
        mode.rescore_mode,
        decay_marker.load_watermark as decay_watermark
    from mode
    cross join decay_marker
    {%- if scored is not none %}

    union all

    select leads.lead_id, 'changed' as rescore_mode, cast(null as {{ lead_scoring.type_double() }})
    from leads
    cross join mode
    where mode.rescore_mode = 'changed'
    {%- endif %}
)

select rescored.*, started.rescore_started_at
from rescored
cross join started
