{#- Progressive profiling: for each group (e.g. lead and score date) and each
    field, the latest known non-empty value among the rows of `relation`,
    ordered by `order_by` (first row wins). Returns one row per group with
    <field> and <field>_updated_at (when that value was recorded).
    Portable: unpivot, rank, pivot (no IGNORE NULLS). -#}
{% macro latest_known_values(relation, group_by, fields, order_by, updated_at='updated_at') -%}
    {{ return(adapter.dispatch('latest_known_values', 'lead_scoring')(
        relation, group_by, fields, order_by, updated_at)) }}
{%- endmacro %}

{% macro default__latest_known_values(relation, group_by, fields, order_by, updated_at) -%}
    {%- set keys = group_by | join(', ') -%}
    with unpivoted as (
        {%- for field in fields %}
        select
            {{ keys }},
            '{{ field }}' as field_name,
            cast({{ field }} as {{ dbt.type_string() }}) as field_value,
            {{ updated_at }} as field_updated_at,
            row_number() over (partition by {{ keys }} order by {{ order_by }}) as value_rank
        from {{ relation }}
        where {{ field }} is not null
        {%- if not loop.last %}
        union all
        {%- endif -%}
        {%- endfor %}
    ),

    groups as (
        select distinct {{ keys }} from {{ relation }}
    )

    select
        {%- for key in group_by %}
        groups.{{ key }},
        {%- endfor %}
        {%- for field in fields %}
        max(case when unpivoted.field_name = '{{ field }}' then unpivoted.field_value end)
            as {{ field }},
        max(case when unpivoted.field_name = '{{ field }}' then unpivoted.field_updated_at end)
            as {{ field }}_updated_at
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from groups
    left join unpivoted
        on unpivoted.value_rank = 1
        {%- for key in group_by %}
        and unpivoted.{{ key }} = groups.{{ key }}
        {%- endfor %}
    group by groups.{{ group_by | join(', groups.') }}
{%- endmacro %}


{#- DuckDB: rank the rows once, then one arg_min per field in a single pass. -#}
{% macro duckdb__latest_known_values(relation, group_by, fields, order_by, updated_at) -%}
    {%- set keys = group_by | join(', ') -%}
    with ranked as (
        select
            {{ relation }}.*,
            row_number() over (partition by {{ keys }} order by {{ order_by }}) as row_rank
        from {{ relation }}
    )

    select
        {{ keys }},
        {%- for field in fields %}
        arg_min(cast({{ field }} as {{ dbt.type_string() }}), row_rank)
            filter (where {{ field }} is not null) as {{ field }},
        arg_min({{ updated_at }}, row_rank)
            filter (where {{ field }} is not null) as {{ field }}_updated_at
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from ranked
    group by {{ keys }}
{%- endmacro %}
