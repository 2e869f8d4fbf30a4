{#- Event staging is incremental. A run reads only the raw rows of dlt loads it
    has not seen (load ids grow), and an event appended again by a later load
    (a retried load, a re-delivered export) keeps its first load: among new rows
    the first load wins, and an event staging holds already is skipped. So the
    incremental decay state never counts an event twice. -#}
{#- The source's rows; on an incremental run only those of loads staging has not
    seen. The load filter comes first, so the quarantine check and the rest read
    the new rows only, not all history. -#}
{% macro unseen_loads(source_relation) -%}
    select * from {{ source_relation }}
    {%- if is_incremental() %}
    where cast(_dlt_load_id as {{ lead_scoring.type_double() }})
        > (select coalesce(max(staged.load_id), 0) from {{ this }} as staged)
    {%- endif %}
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
