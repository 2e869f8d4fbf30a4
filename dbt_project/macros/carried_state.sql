{#- Carried state: incremental models that keep a running state between runs
    (int_subject_events_decayed, int_lead_thresholds_first_crossed) and merge
    only the rows a run changes. Each holds one bookkeeping row whose key
    column is '_state' (no real key takes that value): the as-of date the
    state was brought to and the model_version it was built under. -#}
{% macro state_marker() -%}
    {{ return('_state') }}
{%- endmacro %}

{#- 'carry' when the previous state can be carried forward, else 'rebuild'
    (from all inputs). It carries only when the bookkeeping row exists, was
    written under the model_version in force, and `usable_sql` (a condition on
    it, alias `previous`) holds. A table without `layout_column` predates the
    current layout and is rebuilt. -#}
{% macro carried_state_mode(version_relation, marker_column, layout_column, usable_sql, announce) -%}
    {%- if not is_incremental() or not execute or target.type == 'spark' -%}
        {#- Spark: no keyed delete (macros/spark.sql keyed_strategy) -#}
        {{ return('rebuild') }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- set row = [0, 0] -%}
    {%- if layout_column in columns -%}
        {%- set check_sql -%}
            select
                count(*) as marker_count,
                sum(case when previous.model_version = current_version.model_version
                    and {{ usable_sql }} then 1 else 0 end) as usable_count
            from {{ this }} as previous
            cross join {{ version_relation }} as current_version
            where previous.{{ marker_column }} = '{{ lead_scoring.state_marker() }}'
        {%- endset -%}
        {%- set row = run_query(check_sql).rows[0] -%}
    {%- endif -%}
    {%- if row[0] == 1 and row[1] == 1 -%}
        {{ return('carry') }}
    {%- endif -%}
    {{ log(this.identifier ~ ": no state to carry (none yet, an older layout, a later or the"
           ~ " same as-of date, other rules or an old landmark); rebuilding it from all inputs as of "
           ~ lead_scoring.as_of_date(), info=announce) }}
    {{ return('rebuild') }}
{%- endmacro %}

{#- Days after its landmark date that the decay state is rebuilt: its counts
    grow as 2 ^ (days / half-life), which stays far inside a double's range for
    half-lives of a day or more (seeds/_seeds.yml checks that). -#}
{% macro event_state_max_landmark_age_days() -%}
    {{ return(365) }}
{%- endmacro %}

{#- int_subject_events_decayed carries its state to the same or a later as-of
    date while its landmark is under a year old. -#}
{% macro event_state_mode(version_relation, announce=true) -%}
    {%- set as_of = lead_scoring.as_of_date_sql() -%}
    {%- set usable -%}
        previous.state_as_of_date <= {{ as_of }}
        and {{ dbt.datediff('previous.landmark_date', as_of, 'day') }}
            <= {{ lead_scoring.event_state_max_landmark_age_days() }}
    {%- endset -%}
    {{ return(lead_scoring.carried_state_mode(
        version_relation, 'event_source', 'landmark_date', usable, announce)) }}
{%- endmacro %}

{#- int_lead_thresholds_first_crossed carries its state to a later as-of date
    ('carry'). A run as of the state's own date that rescores some leads only
    (macros/rescore.sql) recomputes those leads from their history ('rescore'):
    it rewrote their rows of that date. Any other run rebuilds it. -#}
{% macro crossings_mode(version_relation, announce=true) -%}
    {%- set as_of = lead_scoring.as_of_date_sql() -%}
    {%- if lead_scoring.rescore_mode() == 'changed' and lead_scoring.carried_state_mode(
            version_relation, 'lead_id', 'mql_by_pain_date',
            'previous.state_as_of_date = ' ~ as_of, false) == 'carry' -%}
        {{ return('rescore') }}
    {%- endif -%}
    {{ return(lead_scoring.carried_state_mode(
        version_relation, 'lead_id', 'mql_by_pain_date',
        'previous.state_as_of_date < ' ~ as_of, announce)) }}
{%- endmacro %}

{#- Pre-hook: a rebuild starts from an empty table, so no row of the old state
    survives the delete+insert (a key the new state lacks would); a rescore
    starts without the rows of the leads it recomputes. -#}
{% macro clear_state_for_rebuild(mode) -%}
    {%- if is_incremental() and mode == 'rebuild' -%}
        {{ lead_scoring.empty_table(this) }}
    {%- elif is_incremental() and mode == 'rescore' -%}
        delete from {{ this }} where {{ lead_scoring.only_rescored('lead_id', 'changed') }}
    {%- endif -%}
{%- endmacro %}

{#- event_weights with a number per event type (in event_type order). Large
    aggregates group by the number instead of the name: DuckDB did not finish
    the decay state's aggregate over 300M events (10M leads) in its memory
    limit with the name as a key, and did with the number. The numbers change
    with the seed, and so does model_version, which rebuilds the states. -#}
{% macro numbered_event_weights() -%}
    select
        event_weights.*,
        row_number() over (order by event_weights.event_type) as event_type_number
    from {{ ref('event_weights') }} as event_weights
{%- endmacro %}
