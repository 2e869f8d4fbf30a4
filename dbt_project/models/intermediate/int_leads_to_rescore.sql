{{ config(materialized='table') }}
{#- Grain: one bookkeeping row (lead_id '_state') whose rescore_mode says what
    this run's dated lead-level models recompute and whose inputs_mode says
    what its input models recompute (macros/rescore.sql), and, when either is
    'changed', one row per lead they recompute; profile_changed says whether
    its profile-side input rows are recomputed too (not for a lead whose
    events alone changed).

    Both need a completed scoring (int_lead_inputs_scored) under the same
    rules; rescore_mode 'changed' needs it as of the same date, inputs_mode
    'changed' as of the same or an earlier date. The leads are then those
    whose input digest differs from the one that scoring recorded (new,
    changed or gone), those with decay-state rows written since (new, late or
    released events, and events a score date slid over), the leads of a run
    that started after that scoring and did not complete (this table as that
    run left it), whose rows it may have rewritten already, and, on a later
    date, the leads with an input dated in a stretch one of the score dates
    slid over (a profile version, a custom attribute, a version or attribute
    of a company they name, their creation): their profile on that score date
    is another one. An unfinished run that recomputed everyone makes this one
    recompute everyone too, of the same kind. -#}
{%- set marker = lead_scoring.state_marker() -%}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
{%- set scored = adapter.get_relation(this.database, this.schema, 'int_lead_inputs_scored') -%}
{%- set previous = adapter.get_relation(this.database, this.schema, this.identifier) -%}
{%- set previous_columns = [] if previous is none else
    adapter.get_columns_in_relation(previous) | map(attribute='name') | map('lower') | list -%}
{#- A set written before input models were kept apart cannot say which kind an
    unfinished run recomputed: recompute everyone once. -#}
{%- if previous is not none and 'profile_changed' not in previous_columns -%}
    {%- set scored, previous = none, none -%}
{%- endif -%}
{#- Spark recomputes everyone on every run for now: it cannot delete some leads'
    rows (macros/spark.sql), and its table materialization drops this table
    before the new one is built, so the previous one cannot be read. -#}
{%- if target.type == 'spark' -%}{%- set scored, previous = none, none -%}{%- endif %}
{#- --full-refresh rebuilds every lead-level model from all of its inputs. -#}
{%- if flags.FULL_REFRESH -%}{%- set scored, previous = none, none -%}{%- endif %}
{#- Whether the score dates moved since the last scoring (a later date): only
    then can an input be dated in a stretch they slid over. -#}
{%- set slid_dates = false -%}
{%- if execute and scored is not none -%}
    {%- set found = run_query("select as_of_date from " ~ scored
        ~ " where lead_id = '" ~ marker ~ "'") -%}
    {%- set slid_dates = found.rows | length == 1
        and (found.rows[0][0] | string)[:10] != lead_scoring.as_of_date() -%}
{%- endif %}
-- depends_on: {{ ref('int_lead_inputs_fingerprinted') }}
-- depends_on: {{ ref('int_event_subjects_resolved') }}
-- depends_on: {{ ref('int_contacts_mapped_to_leads') }}
-- depends_on: {{ ref('int_contact_versions_captured') }}
-- depends_on: {{ ref('int_company_versions_captured') }}
-- depends_on: {{ ref('stg_crm__contact_attributes') }}
-- depends_on: {{ ref('stg_crm__company_attributes') }}
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
        {%- for column, same_date in [('rescore_mode', '='), ('inputs_mode', '<=')] %}
        case when scored_marker.as_of_date {{ same_date }} {{ as_of }}
            and scored_marker.model_version = current_version.model_version
            {%- if previous is not none %}
            and not exists (
                select 1 from {{ previous }} as unfinished
                where unfinished.lead_id = '{{ marker }}'
                    and unfinished.{{ column }} = 'all'
                    and unfinished.rescore_started_at > scored_marker.scored_started_at
            )
            {%- endif %}
            then 'changed' else 'all'
        end as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
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
    where (decayed.load_watermark > scored_marker.decay_watermark
            or decayed.state_as_of_date > scored_marker.as_of_date)
        and decayed.event_source <> '{{ marker }}'
),

{%- if slid_dates %}

{#- The stretches the score dates slid over since that scoring: for each offset,
    from the end of that scoring's score date to the end of this run's (built
    only when they moved). `changed_at` stands for the time tested. -#}
{%- set slid -%}
    (
    {%- for offset in lead_scoring.score_offsets() %}
        (changed_at >= {{ dbt.dateadd('day', 1 - offset, 'scored_marker.as_of_date') }}
            and changed_at < {{ lead_scoring.score_end_at_sql(offset) }})
        {%- if not loop.last %} or{% endif %}
    {%- endfor %}
    )
{%- endset %}

{#- Companies, then contacts, with a version or custom attribute dated in those
    stretches (a first version counts from its record's creation too). -#}
{%- for name, key, versions, attributes in [
        ('company', 'account_id', 'int_company_versions_captured', 'stg_crm__company_attributes'),
        ('contact', 'contact_id', 'int_contact_versions_captured', 'stg_crm__contact_attributes')] %}
{{ name }}_inputs_slid_over as (
    select changes.{{ key }}
    from (
        select {{ key }}, updated_at as changed_at
        from {{ ref(versions) }}
        union all
        select {{ key }}, created_at
        from {{ ref(versions) }}
        union all
        select {{ key }}, valid_from
        from {{ ref(attributes) }}
    ) as changes
    cross join scored_marker
    where {{ slid | replace('changed_at', 'changes.changed_at') }}
    {%- if not loop.last %}
),
    {%- endif %}
{%- endfor %}
    union all
    select named.contact_id
    from (
        select distinct contact_id, account_id from {{ ref('int_contact_versions_captured') }}
    ) as named
    inner join company_inputs_slid_over
        on company_inputs_slid_over.account_id = named.account_id
),

slid_over as (
    select mapped.lead_id
    from {{ ref('int_contacts_mapped_to_leads') }} as mapped
    cross join scored_marker
    where {{ slid | replace('changed_at', 'mapped.lead_created_at') }}
    union all
    select mapped.lead_id
    from contact_inputs_slid_over
    inner join {{ ref('int_contacts_mapped_to_leads') }} as mapped
        on mapped.contact_id = contact_inputs_slid_over.contact_id
),
{%- endif %}

{%- if previous is not none %}
unfinished as (
    select unfinished.lead_id
    from {{ previous }} as unfinished
    cross join scored_marker
    where unfinished.lead_id <> '{{ marker }}'
        and unfinished.rescore_started_at > scored_marker.scored_started_at
),
{%- endif %}

{#- profile_changed: the lead's profile-side input rows are recomputed too
    (macros/rescore.sql, kind 'profiles'); a lead whose events alone changed
    keeps them. -#}
leads as (
    select lead_id, max(profile_changed) = 1 as profile_changed
    from (
        select lead_id, 1 as profile_changed from changed_inputs
        union all
        select lead_id, 0 from new_events
        {%- if slid_dates %}
        union all
        select lead_id, 1 from slid_over
        {%- endif %}
        {%- if previous is not none %}
        union all
        select lead_id, 1 from unfinished
        {%- endif %}
    ) as reasons
    group by lead_id
),
{%- else %}
mode as (
    select 'all' as rescore_mode, 'all' as inputs_mode
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
        mode.inputs_mode,
        cast(null as boolean) as profile_changed,
        decay_marker.load_watermark as decay_watermark
    from mode
    cross join decay_marker
    {%- if scored is not none %}

    union all

    select leads.lead_id, mode.rescore_mode, mode.inputs_mode, leads.profile_changed,
        cast(null as {{ lead_scoring.type_double() }})
    from leads
    cross join mode
    where mode.inputs_mode = 'changed'
    {%- endif %}
)

select rescored.*, started.rescore_started_at
from rescored
cross join started
