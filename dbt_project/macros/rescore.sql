{#- Leads to rescore (docs/incremental.md "Lead-level models").

    The lead-level models are of two kinds. Input models (the resolved
    profiles and attributes and the matched signals, kind 'profiles'; the
    summed event counts, kind 'inputs') hold what a lead's inputs say on each
    score date; dated models (kind 'scores': points, combined scores,
    contributions, reasons, milestones, lead_scores, history) bring those to
    the as-of date: decay, gains, ages, grades.

    A run as of the same date and under the same rules as the last completed
    scoring (an hourly run, or a rerun) recomputes both kinds only for the
    leads in int_leads_to_rescore: every other lead's inputs are the ones it
    was scored from, and its score dates are the same. A run as of a later
    date under the same rules recomputes the input models for those leads
    too (the set then also holds the leads with an input dated on a day the
    score dates slid over), and the dated models for every lead, from the
    carried inputs: a cheap pass of projections and per-lead aggregates. Any
    other run (an earlier date, other rules, no earlier scoring) recomputes
    everything.

    The lead-level models are incremental with the append strategy: a pre-hook
    (clear_rescored) deletes the rows of the leads a run recomputes (all rows
    when it recomputes everyone), and the model's SQL selects those leads only
    (only_rescored). A lead that left (merged, quarantined) is deleted and not
    written again. -#}

{#- 'changed' (only the leads in int_leads_to_rescore), 'changed_profiles'
    (those of them whose profile-side inputs changed) or 'all', for a model of
    `kind`: 'scores' (dated), 'inputs' (the summed event counts) or 'profiles'
    (the profile-side input models). 'all' when the model is built from
    nothing (first run, --full-refresh) whatever the set says. -#}
{% macro rescore_mode(kind='scores') -%}
    {%- if execute and model.resource_type == 'unit_test' -%}
        {{ return('all') }}  {#- a unit test builds from its given rows alone -#}
    {%- endif -%}
    {%- set leads = ref('int_leads_to_rescore') -%}
    {%- if not execute or not is_incremental() -%}
        {{ return('all') }}
    {%- endif -%}
    {%- set column = 'rescore_mode' if kind == 'scores' else 'inputs_mode' -%}
    {%- set found = run_query("select " ~ column ~ " from " ~ leads
        ~ " where lead_id = '" ~ lead_scoring.state_marker() ~ "'") -%}
    {%- if found.rows | length == 1 and found.rows[0][0] == 'changed' -%}
        {{ return('changed_profiles' if kind == 'profiles' else 'changed') }}
    {%- endif -%}
    {{ return('all') }}
{%- endmacro %}

{#- A condition on `column` (a lead id) that holds for the leads this run
    recomputes: all of them, or those in int_leads_to_rescore. -#}
{% macro only_rescored(column, mode=none) -%}
    {%- set mode = mode or lead_scoring.rescore_mode() -%}
    {%- if mode in ('changed', 'changed_profiles') -%}
        {{ column }} in (
            select rescored.lead_id from {{ ref('int_leads_to_rescore') }} as rescored
            where rescored.lead_id <> '{{ lead_scoring.state_marker() }}'
            {%- if mode == 'changed_profiles' %}
                and rescored.profile_changed
            {%- endif %}
        )
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- `relation` (keyed by lead_id) narrowed to the leads this run recomputes. -#}
{% macro rescored_rows(relation, mode=none) -%}
    {%- set mode = mode or lead_scoring.rescore_mode() -%}
    {%- if mode != 'all' -%}
        (select * from {{ relation }} where {{ lead_scoring.only_rescored('lead_id', mode) }})
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of a lead-level model: delete the rows this run writes again.
    `extra` narrows the delete (lead_score_history: the as-of date's rows);
    `kind` is the model's (rescore_mode). -#}
{% macro clear_rescored(extra=none, kind='scores') -%}
    {%- set mode = lead_scoring.rescore_mode(kind) -%}
    {%- if not is_incremental() or (extra and target.type == 'spark') -%}
        {#- Spark: a dated model overwrites its as-of date (macros/spark.sql) -#}
    {%- elif mode == 'all' and not extra -%}
        {{ lead_scoring.empty_table(this) }}
    {%- else -%}
        delete from {{ this }}
        where {{ lead_scoring.only_rescored('lead_id', mode) }}
        {%- if extra %} and {{ extra }}{% endif %}
    {%- endif -%}
{%- endmacro %}

{#- An order-free digest of the text values `expression` takes over a group:
    equal inputs give equal digests on every run. -#}
{% macro fingerprint_agg(expression) -%}
    {{ return(adapter.dispatch('fingerprint_agg', 'lead_scoring')(expression)) }}
{%- endmacro %}

{% macro default__fingerprint_agg(expression) -%}
    sum(hash({{ expression }}))
{%- endmacro %}

{% macro postgres__fingerprint_agg(expression) -%}
    sum(hashtextextended({{ expression }}, 0))
{%- endmacro %}

{% macro spark__fingerprint_agg(expression) -%}
    sum(xxhash64({{ expression }}))
{%- endmacro %}

{#- `columns` as one text value, null-safe, for fingerprint_agg. -#}
{% macro fingerprint_text(columns) -%}
    {%- for column in columns -%}
        coalesce(cast({{ column }} as {{ dbt.type_string() }}), '~')
        {%- if not loop.last %} || '|' || {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- One fingerprint item per custom attribute row (stg_crm__*_attributes) of
    `relation`, by `key`. Its load id counts only where another row of the same
    record and attribute has the same valid_from (the load id decides between
    them: int_lead_attributes_resolved); elsewhere it changes whenever the CRM
    row is extracted again and would rescore leads for nothing. -#}
{% macro attribute_items(relation, key) -%}
    select {{ key }},
        {{ lead_scoring.fingerprint_text(["'a'", 'attribute', 'value', 'attribute_kind',
                                          'valid_from', 'tie_load_id']) }} as item
    from (
        select attribute_rows.*,
            case when count(*) over (partition by {{ key }}, attribute, valid_from) > 1
                then load_id end as tie_load_id
        from {{ relation }} as attribute_rows
    ) as attributes
{%- endmacro %}
