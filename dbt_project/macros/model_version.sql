{#- model_version: which rules produced a score. A hash of the contents of every
    rule seed (computed in SQL by int_scoring_rules_versioned) and of the vars
    below (computed here); any change to a weight, threshold or switch gives a
    new version, so every value synced to the CRM traces back to its rules. -#}

{% macro rule_seeds() -%}
    {{ return(['event_weights', 'signal_rules', 'job_title_rules', 'country_tiers',
               'company_size_bands', 'target_accounts', 'negative_domains',
               'score_grade_bands', 'nurture_track_rules']) }}
{%- endmacro %}

{% macro scoring_vars() -%}
    {{ return(['lead_scoring__sdr_ready_threshold', 'lead_scoring__mql_pain_threshold',
               'lead_scoring__score_floor', 'lead_scoring__good_fit_threshold',
               'lead_scoring__high_pain_threshold', 'lead_scoring__cold_after_days',
               'lead_scoring__max_score_reasons', 'lead_scoring__welcome_track_days',
               'lead_scoring__customer_onboarding_days', 'lead_scoring__renewal_after_days',
               'lead_scoring__account_rollup', 'lead_scoring__account_top_n',
               'lead_scoring__engaged_pain_threshold',
               'lead_scoring__account_sdr_ready_threshold',
               'lead_scoring__account_sdr_ready_min_personas',
               'lead_scoring__using_product_events', 'lead_scoring__using_marketing_events']) }}
{%- endmacro %}

{% macro scoring_vars_fingerprint() -%}
    {%- set parts = [] -%}
    {%- for name in lead_scoring.scoring_vars() -%}
        {%- do parts.append(name ~ '=' ~ (var(name) | tojson)) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join(';'))) }}
{%- endmacro %}

{#- One text per seed row: every column, in column order, '|'-separated. -#}
{% macro row_text(relation) -%}
    {%- if not execute -%}
        {{ return("''") }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) -%}
    {%- if columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "rule seed " ~ relation ~ " is missing or empty: load the seeds first (dbt seed, or dbt build)") }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ adapter.quote(column.name) ~ " as "
                            ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    {{ return(parts | join(" || '|' || ")) }}
{%- endmacro %}
