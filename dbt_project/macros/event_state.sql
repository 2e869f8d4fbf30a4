{#- Whether int_subject_events_decayed can carry its previous state forward
    ('carry') or must be rebuilt from all events ('rebuild'). It carries only
    when the previous state is for the same or an earlier as-of date and was
    computed under the same model_version (same half-lives and rules). -#}
{% macro event_state_mode(version_relation) -%}
    {%- if not is_incremental() or not execute -%}
        {{ return('rebuild') }}
    {%- endif -%}
    {%- set check_sql -%}
        select
            count(*) as state_count,
            sum(case
                when previous.state_as_of_date <= {{ lead_scoring.as_of_date_sql() }}
                    and previous.model_version = current_version.model_version then 1
                else 0
            end) as usable_count
        from (select distinct state_as_of_date, model_version from {{ this }}) as previous
        cross join {{ version_relation }} as current_version
    {%- endset -%}
    {%- set row = run_query(check_sql).rows[0] -%}
    {%- if row[0] == 1 and row[1] == 1 -%}
        {{ return('carry') }}
    {%- endif -%}
    {%- if row[0] > 0 -%}
        {{ log("int_subject_events_decayed: previous state is for a later as-of date or other rules;"
               ~ " rebuilding it from all events as of " ~ lead_scoring.as_of_date(), info=true) }}
    {%- endif -%}
    {{ return('rebuild') }}
{%- endmacro %}
