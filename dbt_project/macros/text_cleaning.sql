{#- Trimmed text, empty string as null (CRM properties arrive as strings). -#}
{% macro clean_text(expression) -%}
    nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- ISO-8601 text ('2026-11-01T10:00:00.000Z') to a UTC timestamp; empty = null. -#}
{% macro text_to_timestamp(expression) -%}
    cast({{ lead_scoring.clean_text(expression) }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- ISO-8601 text that may carry a UTC offset ('2026-11-01T10:00:00+02:00',
    '...Z', '...+0200') to a UTC timestamp; text without an offset is read as
    UTC; empty = null. A plain cast to timestamp drops the offset on DuckDB and
    PostgreSQL alike, so text with one goes through a zone-aware timestamp. -#}
{% macro text_to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('text_to_utc_timestamp', 'lead_scoring')(expression)) }}
{%- endmacro %}

{% macro default__text_to_utc_timestamp(expression) -%}
    {%- set text = lead_scoring.clean_text(expression) -%}
    case
        when {{ lead_scoring.matches_pattern(text, lead_scoring.utc_offset_pattern()) }}
            then cast(cast({{ text }} as timestamp with time zone) at time zone 'UTC'
                as {{ dbt.type_timestamp() }})
        else cast({{ text }} as {{ dbt.type_timestamp() }})
    end
{%- endmacro %}

{#- Spark reads the offset itself (the session time zone is UTC); it wants +hh:mm. -#}
{% macro spark__text_to_utc_timestamp(expression) -%}
    cast(regexp_replace({{ lead_scoring.clean_text(expression) }},
        '([+-][0-9]{2})([0-9]{2})$', '$1:$2') as timestamp)
{%- endmacro %}

{#- A time of day followed by Z or a +hh[:mm] / -hh[:mm] offset, at the end. -#}
{% macro utc_offset_pattern() -%}
    {{ return("'[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$'") }}
{%- endmacro %}

{% macro matches_pattern(expression, pattern) -%}
    {{ return(adapter.dispatch('matches_pattern', 'lead_scoring')(expression, pattern)) }}
{%- endmacro %}

{% macro default__matches_pattern(expression, pattern) -%}
    {{ expression }} ~ {{ pattern }}
{%- endmacro %}

{% macro duckdb__matches_pattern(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ pattern }})
{%- endmacro %}

{% macro spark__matches_pattern(expression, pattern) -%}
    {{ expression }} rlike {{ pattern }}
{%- endmacro %}

{#- Whole-number text to an integer; anything else (e.g. '50-100') is null. -#}
{% macro text_to_integer(expression) -%}
    case
        when {{ lead_scoring.matches_integer(lead_scoring.clean_text(expression)) }}
            then cast(cast({{ lead_scoring.clean_text(expression) }} as numeric(38, 6)) as bigint)
    end
{%- endmacro %}

{% macro matches_integer(expression) -%}
    {{ return(adapter.dispatch('matches_integer', 'lead_scoring')(expression)) }}
{%- endmacro %}

{% macro default__matches_integer(expression) -%}
    {{ expression }} ~ '^[0-9]+(\.0+)?$'
{%- endmacro %}

{% macro duckdb__matches_integer(expression) -%}
    regexp_matches({{ expression }}, '^[0-9]+(\.0+)?$')
{%- endmacro %}

{% macro spark__matches_integer(expression) -%}
    {{ expression }} rlike '^[0-9]+([.]0+)?$'
{%- endmacro %}

{#- Decimal or scientific-notation text to a double; anything else (e.g. 'n/a',
    '50-100') is null. The pattern guards the cast: dbt.safe_cast is a plain cast
    on DuckDB and PostgreSQL, which fails on such text. -#}
{% macro text_to_number(expression) -%}
    case
        when {{ lead_scoring.matches_number(expression) }}
            then {{ dbt.safe_cast(expression, lead_scoring.type_double()) }}
    end
{%- endmacro %}

{% macro number_pattern() -%}
    {{ return("'^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$'") }}
{%- endmacro %}

{% macro matches_number(expression) -%}
    {{ return(adapter.dispatch('matches_number', 'lead_scoring')(expression)) }}
{%- endmacro %}

{% macro default__matches_number(expression) -%}
    {{ expression }} ~ {{ lead_scoring.number_pattern() }}
{%- endmacro %}

{% macro duckdb__matches_number(expression) -%}
    regexp_matches({{ expression }}, {{ lead_scoring.number_pattern() }})
{%- endmacro %}

{% macro spark__matches_number(expression) -%}
    {{ expression }} rlike {{ lead_scoring.number_pattern() }}
{%- endmacro %}

{#- A job title padded and stripped of punctuation, for ' keyword ' matching. -#}
{% macro padded_words(expression) -%}
    ' ' || translate(lower({{ expression }}), ',.;:-/&()|+', '           ') || ' '
{%- endmacro %}

{#- A form answer: yes/no spellings unified, anything else lower-cased. -#}
{% macro normalised_answer(expression) -%}
    case
        when lower({{ expression }}) in ('yes', 'y', 'true', '1') then 'yes'
        when lower({{ expression }}) in ('no', 'n', 'false', '0') then 'no'
        else lower({{ expression }})
    end
{%- endmacro %}

{#- A source timestamp column as a UTC timestamp without time zone. dlt writes
    timestamps with time zone; converting those through the session time zone
    would shift them, so a zone-aware column is read `at time zone 'UTC'`. -#}
{% macro utc_timestamp(relation, column_name) -%}
    {%- set data_type = '' -%}
    {%- if execute -%}
        {%- set matching = adapter.get_columns_in_relation(relation)
            | selectattr('name', 'equalto', column_name) | list -%}
        {%- set data_type = (matching[0].data_type if matching else '') | lower -%}
    {%- endif -%}
    {%- set zone_aware = 'time zone' in data_type or 'timestamptz' in data_type -%}
    {%- if zone_aware -%}
        cast(({{ column_name }} at time zone 'UTC') as {{ dbt.type_timestamp() }})
    {%- else -%}
        cast({{ column_name }} as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}
