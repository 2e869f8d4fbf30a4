{#- Progressive-profiling history. dlt merges the CRM tables (one row per
    record, the latest values), so a field blanked by a later form would be
    lost. Each run appends the rows of `relation` whose values it has not
    captured yet (compared by a hash of `fields`), with when it captured them.
    Used by incremental models with full_refresh=false: the history survives
    `dbt build --full-refresh`. -#}
{% macro capture_new_versions(relation, key_column, fields) -%}
    with current_rows as (
        select
            {{ relation }}.*,
            md5(
                {%- for field in fields %}
                coalesce(cast({{ field }} as {{ dbt.type_string() }}), '')
                {%- if not loop.last %} || '|' || {% endif -%}
                {%- endfor %}
            ) as row_hash,
            cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
                as captured_at
        from {{ relation }}
    )

    select *
    from current_rows
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as captured
        where captured.{{ key_column }} = current_rows.{{ key_column }}
            and captured.row_hash = current_rows.row_hash
    )
    {%- endif %}
{%- endmacro %}
