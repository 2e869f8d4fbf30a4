{{ config(materialized='table') }}
{#- Grain: one row, the model_version in force: the first 12 hex digits of an
    md5 over every rule seed's rows (sorted) and the scoring vars. -#}
with seed_rows as (
    {%- for seed in lead_scoring.rule_seeds() %}
    select '{{ seed }}:' || {{ lead_scoring.row_text(ref(seed)) }} as row_text
    from {{ ref(seed) }}
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- endfor %}
),

rules_text as (
    select {{ dbt.listagg('row_text', "'\n'", 'order by row_text') }} as rules_text
    from seed_rows
),

versioned as (
    select
        substr(md5(rules_text || '{{ lead_scoring.scoring_vars_fingerprint() }}'), 1, 12)
            as model_version
    from rules_text
)

select * from versioned
