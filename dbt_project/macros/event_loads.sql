{#- Event staging is incremental. A run reads only the raw rows of dlt loads it
    has not seen (load ids grow), and an event appended again by a later load
    (a retried load, a re-delivered export) keeps its first load: among new rows
    the first load wins, and an event staging holds already is skipped. So the
    incremental decay state never counts an event twice. -#}
{#- The source's rows; on an incremental run only those of loads staging has not
    seen, plus the rows of records the quality gate released from the quarantine
    since the last staging run (quality.released: their contact arrived, their date
    is no longer in the future), which no new load brings. The load filter comes
    first, so the quarantine check and the rest read the new rows only, not all
    history; the released rows cost a scan of the ids only when there are any. -#}
{% macro unseen_loads(source_relation, record_type) -%}
    select * from {{ source_relation }}
    {%- if is_incremental() %}
    where cast(_dlt_load_id as {{ lead_scoring.type_double() }})
        > (select coalesce(max(staged.load_id), 0) from {{ this }} as staged)
    {%- set released = lead_scoring.released_since_staging(record_type) %}
    {%- if released %}
    union all
    select * from {{ source_relation }}
    where cast(event_id as {{ dbt.type_string() }}) in ({{ released }})
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- The ids of `record_type` released after the last staging run (all of them when
    staging predates staged_watermark); '' when the gate has no released table. -#}
{% macro released_since_staging(record_type) -%}
    {%- set declared = source('quality', 'released') -%}
    {%- set relation = adapter.get_relation(declared.database, declared.schema, declared.identifier) -%}
    {%- if relation is none or not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set last = none -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {%- if 'staged_watermark' in columns -%}
        {%- set last = run_query('select max(staged_watermark) from ' ~ this).columns[0].values()[0] -%}
    {%- endif -%}
    {%- set sql -%}
        select released.record_id
        from {{ relation }} as released
        where released.record_type = '{{ record_type }}'
        {%- if last is not none %}
            and released.released_at > cast('{{ modules.datetime.datetime.utcfromtimestamp(last | float).isoformat(' ') }}' as {{ dbt.type_timestamp() }})
        {%- endif %}
    {%- endset -%}
    {{ return(sql) }}
{%- endmacro %}

{#- When a row was staged: the staging run's start (Unix seconds, as dlt's load
    ids). The decay state counts the events staged after its last run
    (int_events_unioned.load_watermark), late arrivals and released ones alike. -#}
{% macro staged_watermark() -%}
    cast({{ run_started_at.timestamp() }} as {{ lead_scoring.type_double() }})
{%- endmacro %}

{% macro first_load_of_each_event(relation) -%}
    select ranked.*
    from (
        select
            {{ relation }}.*,
            row_number() over (
                partition by {{ relation }}.event_id
                order by {{ relation }}.load_id, {{ relation }}.occurred_at
            ) as copy_number
        from {{ relation }}
    ) as ranked
    where ranked.copy_number = 1
    {#- On an incremental run: less events staging holds already, found by probing
        staging with the few new ids (not the new rows against every staged id). -#}
    {%- if is_incremental() %}
        and not exists (
            select 1
            from (
                select staged.event_id
                from {{ this }} as staged
                where staged.event_id in (select new_rows.event_id from {{ relation }} as new_rows)
            ) as already_staged
            where already_staged.event_id = ranked.event_id
        )
    {%- endif %}
{%- endmacro %}
