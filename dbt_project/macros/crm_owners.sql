{#- CRM owners (docs/routing.md, "Owners"). An owner id means "nobody yet"
    when it is empty or one of lead_scoring__unassigned_owner_ids: the ids of
    env var LEAD_SCORING_CRM_UNASSIGNED_OWNERS (comma-separated; e.g. a
    Salesforce integration user or lead queue), the one setting dbt and the
    CRM sync share. -#}

{#- The unassigned owner ids as a list of trimmed, non-empty strings. The var
    may be a comma-separated string (as dbt_project.yml reads the env var) or a
    list (as --vars may give it). -#}
{% macro unassigned_owner_ids() -%}
    {%- set raw = var('lead_scoring__unassigned_owner_ids', '') -%}
    {%- if raw is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set parts = (raw | string).split(',') if raw is string or raw is number else raw -%}
    {%- set ids = [] -%}
    {%- for part in parts -%}
        {%- set owner_id = (part | string | trim) -%}
        {%- if owner_id != '' and owner_id not in ids -%}
            {%- do ids.append(owner_id) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(ids) }}
{%- endmacro %}

{#- True when `expression` (a cleaned owner id: empty already null) names a
    real owner: not null and not one of the unassigned ids. -#}
{% macro owner_is_set(expression) -%}
    {%- set ids = lead_scoring.unassigned_owner_ids() -%}
    ({{ expression }} is not null
    {%- if ids | length > 0 %} and {{ expression }} not in (
        {%- for owner_id in ids -%}
        '{{ owner_id | replace("'", "''") }}'{% if not loop.last %}, {% endif %}
        {%- endfor -%})
    {%- endif -%})
{%- endmacro %}
