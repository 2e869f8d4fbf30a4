{#- Progressive-profiling history. dlt merges the CRM tables (one row per
    record, the latest values), so a field blanked by a later form would be
    lost. Each run appends the rows of `relation` whose values (a hash of
    `fields`) differ from the latest version captured for that key, with when
    it captured them. A record whose modification time moved but whose values
    did not (the CRM sync writing the scores back) adds no version, so a
    re-run of a past date reads the same profiles; a value changed back (A, B,
    then A again) is captured again. Used by incremental models with
    full_refresh=false: the history survives `dbt build --full-refresh`. -#}
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
    {%- if is_incremental() %},

    latest_captured as (
        select {{ key_column }}, row_hash
        from (
            select
                {{ key_column }},
                row_hash,
                row_number() over (
                    partition by {{ key_column }} order by captured_at desc, updated_at desc
                ) as recency
            from {{ this }}
        ) as ranked
        where recency = 1
    )
    {%- endif %}

    select current_rows.*
    from current_rows
    {%- if is_incremental() %}
    left join latest_captured
        on latest_captured.{{ key_column }} = current_rows.{{ key_column }}
    where latest_captured.row_hash is null
        or latest_captured.row_hash <> current_rows.row_hash
    {%- endif %}
{%- endmacro %}
