{#- The as-of date and the score dates derived from it.

    Everything is computed as of `lead_scoring__as_of_date` (a date string,
    e.g. Airflow's `{{ ds }}`; an ISO datetime is cut to its date; empty means
    the UTC date the run started). A date counts in full: events up to the end
    of that day are included and decay runs to the end of that day, so a
    re-run for a past date reproduces that day's scores. -#}

{% macro as_of_date() -%}
    {%- set raw = var('lead_scoring__as_of_date') -%}
    {%- if raw is none or (raw | string | trim) == '' -%}
        {{ return(run_started_at.strftime('%Y-%m-%d')) }}
    {%- endif -%}
    {%- set text = raw | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?$', text) -%}
        {{ exceptions.raise_compiler_error(
            "var lead_scoring__as_of_date must be a date string YYYY-MM-DD, got " ~ (text | tojson)) }}
    {%- endif -%}
    {{ return(text[:10]) }}
{%- endmacro %}

{% macro date_literal(day) -%}
    cast('{{ day }}' as date)
{%- endmacro %}

{% macro as_of_date_sql() -%}
    {{ lead_scoring.date_literal(lead_scoring.as_of_date()) }}
{%- endmacro %}

{#- Offsets (days before the as-of date) at which scores are computed:
    0 is the score itself, 7 and 30 feed score_gain_7d / score_gain_30d. -#}
{% macro score_offsets() -%}
    {{ return([0, 7, 30]) }}
{%- endmacro %}

{#- The exclusive end of the score date `offset` days before the as-of date,
    as a timestamp literal. -#}
{% macro score_end_at_sql(offset) -%}
    {%- set as_of = modules.datetime.date.fromisoformat(lead_scoring.as_of_date()) -%}
    {%- set day_end = as_of - modules.datetime.timedelta(days=offset - 1) -%}
    cast('{{ day_end.isoformat() }} 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- One row per offset: offset_days, score_date and score_end_at (the exclusive
    end of that day), all literals computed here so the SQL stays portable. -#}
{% macro score_dates_sql() -%}
    {%- set as_of = modules.datetime.date.fromisoformat(lead_scoring.as_of_date()) -%}
    {%- for offset in lead_scoring.score_offsets() -%}
        {%- set day = as_of - modules.datetime.timedelta(days=offset) %}
    select
        {{ offset }} as offset_days,
        {{ lead_scoring.date_literal(day.isoformat()) }} as score_date,
        {{ lead_scoring.score_end_at_sql(offset) }} as score_end_at
        {%- if not loop.last %}
    union all
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
