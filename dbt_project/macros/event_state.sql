{#- The decay state's bookkeeping row (int_subject_events_decayed): its key
    names no real source, so no subject joins to it. It records the as-of date
    the state was last brought to, the load watermark counted, the landmark
    date and the rules in force. -#}
{% macro event_state_marker() -%}
    {{ return('_state') }}
{%- endmacro %}

{#- Days after its landmark date that a carried state is rebuilt: its counts
    grow as 2 ^ (days / half-life), which stays far inside a double's range for
    half-lives of a day or more (seeds/_seeds.yml checks that). -#}
{% macro event_state_max_landmark_age_days() -%}
    {{ return(365) }}
{%- endmacro %}

{#- Whether int_subject_events_decayed can carry its previous state forward
    ('carry') or must be rebuilt from all events ('rebuild'). It carries only
    when the previous state is for the same or an earlier as-of date, was
    computed under the same model_version (same half-lives and rules) and its
    landmark is under a year old. -#}
{% macro event_state_mode(version_relation, announce=true) -%}
    {%- if not is_incremental() or not execute -%}
        {{ return('rebuild') }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'landmark_date' not in columns -%}
        {{ log("int_subject_events_decayed: the state has an older layout;"
               ~ " rebuilding it from all events as of " ~ lead_scoring.as_of_date(), info=announce) }}
        {{ return('rebuild') }}
    {%- endif -%}
    {%- set as_of = lead_scoring.as_of_date_sql() -%}
    {%- set check_sql -%}
        select
            count(*) as marker_count,
            sum(case
                when previous.state_as_of_date <= {{ as_of }}
                    and previous.model_version = current_version.model_version
                    and {{ dbt.datediff('previous.landmark_date', as_of, 'day') }}
                        <= {{ lead_scoring.event_state_max_landmark_age_days() }} then 1
                else 0
            end) as usable_count
        from {{ this }} as previous
        cross join {{ version_relation }} as current_version
        where previous.event_source = '{{ lead_scoring.event_state_marker() }}'
    {%- endset -%}
    {%- set row = run_query(check_sql).rows[0] -%}
    {%- if row[0] == 1 and row[1] == 1 -%}
        {{ return('carry') }}
    {%- endif -%}
    {{ log("int_subject_events_decayed: no state to carry (none yet, a later as-of date,"
           ~ " other rules or an old landmark); rebuilding it from all events as of "
           ~ lead_scoring.as_of_date(), info=announce) }}
    {{ return('rebuild') }}
{%- endmacro %}

{#- Pre-hook: a rebuild starts from an empty state, so no row of the old one
    survives the delete+insert (a key the new state lacks would). -#}
{% macro clear_event_state_for_rebuild(version_relation) -%}
    {%- if is_incremental() and event_state_mode(version_relation, announce=false) == 'rebuild' -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}
