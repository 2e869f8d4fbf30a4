{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored(kind='profiles') }}"
) }}
{%- set mode = lead_scoring.rescore_mode('profiles') -%}
{#- Grain: one row per lead, score date (offset_days) and signal_rules row the
    lead matches. A rule tests one attribute of int_lead_attributes_resolved:
    equals (the value is the rule's value), between (min_value <= the value as
    a number < max_value; an empty bound is open), present (the lead has the
    attribute), missing (it has not). kind says whether the points add to fit
    or to pain. An attribute no rule matches gives no row. -#}
{#- The attributes are read by ref() in each branch rather than through one
    CTE: a CTE named more than once is materialised by DuckDB. Each branch is
    one hash join (no OR in a join condition), selecting the same columns. -#}
{%- set matched_columns -%}
    select
        attributes.lead_id,
        attributes.offset_days,
        rules.signal,
        attributes.attribute,
        attributes.attribute_value,
        rules.kind,
        rules.points,
        rules.reason_label,
        attributes.observed_at
{%- endset %}
with rules as (
    select
        signal,
        attribute,
        transform,
        value,
        min_value,
        max_value,
        kind,
        cast(points as numeric(10, 2)) as points,
        reason_label
    from {{ ref('signal_rules') }}
),

equals_matches as (
    {{ matched_columns }}
    from {{ lead_scoring.rescored_rows(ref('int_lead_attributes_resolved'), mode) }} as attributes
    inner join rules
        on rules.attribute = attributes.attribute
        and rules.value = attributes.attribute_value
    where rules.transform = 'equals'
),

between_matches as (
    {{ matched_columns }}
    from {{ lead_scoring.rescored_rows(ref('int_lead_attributes_resolved'), mode) }} as attributes
    inner join rules
        on rules.attribute = attributes.attribute
    where rules.transform = 'between'
        and attributes.value_number is not null
        and (rules.min_value is null or attributes.value_number >= rules.min_value)
        and (rules.max_value is null or attributes.value_number < rules.max_value)
),

present_matches as (
    {{ matched_columns }}
    from {{ lead_scoring.rescored_rows(ref('int_lead_attributes_resolved'), mode) }} as attributes
    inner join rules
        on rules.attribute = attributes.attribute
    where rules.transform = 'present'
),

{#- missing: every lead and score date with each missing rule, less those
    that have the attribute. The attributes are joined to the missing rules
    (the small side), so without such rules nothing is read. -#}
missing_rules as (
    select * from rules where transform = 'missing'
),

missing_attributes_held as (
    select
        attributes.lead_id,
        attributes.offset_days,
        missing_rules.signal
    from {{ lead_scoring.rescored_rows(ref('int_lead_attributes_resolved'), mode) }} as attributes
    inner join missing_rules
        on missing_rules.attribute = attributes.attribute
),

missing_matches as (
    select
        lead_dates.lead_id,
        lead_dates.offset_days,
        missing_rules.signal,
        missing_rules.attribute,
        cast(null as {{ dbt.type_string() }}) as attribute_value,
        missing_rules.kind,
        missing_rules.points,
        missing_rules.reason_label,
        cast(null as {{ dbt.type_timestamp() }}) as observed_at
    from {{ lead_scoring.rescored_rows(ref('int_lead_profiles_resolved'), mode) }} as lead_dates
    cross join missing_rules
    left join missing_attributes_held as held
        on held.lead_id = lead_dates.lead_id
        and held.offset_days = lead_dates.offset_days
        and held.signal = missing_rules.signal
    where held.lead_id is null
),

matched as (
    select * from equals_matches
    union all
    select * from between_matches
    union all
    select * from present_matches
    union all
    select * from missing_matches
)

select * from matched
