{#- Exponential decay: an event `age_days` old keeps 0.5 ^ (age / half-life)
    of its weight, so one half-life old counts half. -#}
{% macro decay_factor(age_days, half_life_days) -%}
    power(cast(0.5 as {{ lead_scoring.type_double() }}),
          cast({{ age_days }} as {{ lead_scoring.type_double() }}) / cast({{ half_life_days }} as {{ lead_scoring.type_double() }}))
{%- endmacro %}

{#- Cap points at +/- max_points (a null cap means uncapped); the sign is kept,
    so a negative signal is capped in magnitude. Null points stay null (least()
    skips nulls). -#}
{% macro capped_points(points, max_points) -%}
    case
        when {{ points }} is null or {{ max_points }} is null then {{ points }}
        when {{ points }} < 0 then -1 * least(-1 * {{ points }}, {{ max_points }})
        else least({{ points }}, {{ max_points }})
    end
{%- endmacro %}

{#- Score columns as exact decimals with two places, identical on every engine. -#}
{% macro to_points(expression) -%}
    cast(round(cast({{ expression }} as numeric(18, 6)), 2) as numeric(12, 2))
{%- endmacro %}

{#- A threshold var as a SQL number; a missing value is a clear error. -#}
{% macro number_var(name) -%}
    {%- set value = var(name) -%}
    {%- if value is none or value is string -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a number, got " ~ (value | tojson)) }}
    {%- endif -%}
    {{ value }}
{%- endmacro %}

{#- A var that must be one of `choices`. -#}
{% macro choice_var(name, choices) -%}
    {%- set value = var(name) -%}
    {%- if value not in choices -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be one of " ~ (choices | join(', ')) ~ ", got " ~ (value | tojson)) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- 8-byte floats on every engine (dbt.type_float() is 4-byte on DuckDB, too
    coarse for decay sums and for dlt load ids). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'lead_scoring')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
