{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lead_scoring.clear_rescored(kind='profiles') }}"
) }}
{%- set mode = lead_scoring.rescore_mode('profiles') -%}
{#- Grain: one row per lead, score date (offset_days, the same rows as
    int_lead_profiles_resolved) and attribute the lead has a value for: the
    attribute catalogue that signal_rules scores. Three kinds of attribute:
    - built-in, derived from the profile (e-mail type, title seniority and
      persona, target account, market tier, size band, industry, BANT answers,
      negative domain) or taken from it as it is (lead_source, country_code,
      employee_count, annual_revenue); kind fit;
    - custom contact attributes (stg_crm__contact_attributes) of the lead's
      contacts: the lead record's own value first, a merged duplicate's fills
      a gap; the latest value valid before the end of the score date (no
      valid_from = known from the start); a name taken by a built-in
      attribute is left to the built-in;
    - custom company attributes of the lead's account on that date, named
      account.<attribute>.
    value_number is the value as a number where it reads as one; observed_at
    is when the value used was recorded (null: known from the start). -#}
{%- set built_in = [
    ('email_type', 'email_type', none, 'email_domain_updated_at'),
    ('seniority', 'seniority', none, 'job_title_updated_at'),
    ('persona', 'persona', none, 'job_title_updated_at'),
    ('target_account', 'target_account', none, 'target_account_observed_at'),
    ('country_tier', 'country_tier', 'country_tier', 'country_code_updated_at'),
    ('company_size', 'company_size_band', none, 'employee_count_updated_at'),
    ('industry', 'industry', none, 'industry_updated_at'),
    ('bant_budget', 'bant_budget', none, 'bant_budget_updated_at'),
    ('bant_authority', 'bant_authority', none, 'bant_authority_updated_at'),
    ('bant_need', 'bant_need', none, 'bant_need_updated_at'),
    ('bant_timeline', 'bant_timeline', none, 'bant_timeline_updated_at'),
    ('negative_domain', 'negative_domain', none, 'email_domain_updated_at'),
    ('lead_source', 'lead_source', none, 'lead_source_updated_at'),
    ('country_code', 'country_code', none, 'country_code_updated_at'),
    ('employee_count', 'employee_count', 'employee_count', 'employee_count_updated_at'),
    ('annual_revenue', 'annual_revenue_text', 'annual_revenue', 'annual_revenue_updated_at'),
] -%}
with profiles as (
    select * from {{ lead_scoring.rescored_rows(ref('int_lead_profiles_resolved'), mode) }} as rescored
),

score_dates as (
    {{ lead_scoring.score_dates_sql() }}
),

target_accounts as (
    select lower(domain) as domain from {{ ref('target_accounts') }}
),

{#- Title keywords and negative domains are matched once per distinct value.
    These read the profiles model itself, so that the profiles CTE is named
    once (a CTE named more than once is materialised: every profile held at
    once). -#}
job_titles as (
    select distinct job_title
    from {{ lead_scoring.rescored_rows(ref('int_lead_profiles_resolved'), mode) }} as rescored
    where job_title is not null
),

title_matches as (
    select
        job_titles.job_title,
        title_rules.seniority,
        title_rules.persona,
        row_number() over (
            partition by job_titles.job_title
            order by title_rules.priority, title_rules.keyword
        ) as match_rank
    from job_titles
    inner join {{ ref('job_title_rules') }} as title_rules
        on {{ lead_scoring.padded_words('job_titles.job_title') }}
            like '% ' || lower(title_rules.keyword) || ' %'
),

email_domains_seen as (
    select distinct email_domain
    from {{ lead_scoring.rescored_rows(ref('int_lead_profiles_resolved'), mode) }} as rescored
    where email_domain is not null
),

{#- A listed domain matches itself and its subdomains; the longest match wins. -#}
negative_matches as (
    select
        email_domains_seen.email_domain,
        negative_domains.domain_kind,
        row_number() over (
            partition by email_domains_seen.email_domain
            order by {{ dbt.length('negative_domains.domain') }} desc
        ) as match_rank
    from email_domains_seen
    inner join {{ ref('negative_domains') }} as negative_domains
        on email_domains_seen.email_domain = lower(negative_domains.domain)
        or email_domains_seen.email_domain like '%.' || lower(negative_domains.domain)
),

facts as (
    select
        profiles.lead_id,
        profiles.offset_days,
        coalesce(email_domains.email_domain_type, 'unknown') as email_type,
        profiles.email_domain_updated_at,
        title_matches.seniority,
        title_matches.persona,
        profiles.job_title_updated_at,
        case
            when profiles.is_target_account
                or profiles.company_domain in (select target_accounts.domain from target_accounts)
                or profiles.email_domain in (select target_accounts.domain from target_accounts)
                then 'yes'
        end as target_account,
        coalesce(profiles.is_target_account_updated_at, profiles.email_domain_updated_at)
            as target_account_observed_at,
        country_tiers.country_tier,
        profiles.country_code,
        profiles.country_code_updated_at,
        size_bands.company_size_band,
        profiles.employee_count,
        profiles.employee_count_updated_at,
        profiles.annual_revenue,
        cast(cast(profiles.annual_revenue as numeric(38, 2)) as {{ dbt.type_string() }})
            as annual_revenue_text,
        profiles.annual_revenue_updated_at,
        profiles.industry,
        profiles.industry_updated_at,
        profiles.lead_source,
        profiles.lead_source_updated_at,
        {{ lead_scoring.normalised_answer('profiles.bant_budget') }} as bant_budget,
        profiles.bant_budget_updated_at,
        {{ lead_scoring.normalised_answer('profiles.bant_authority') }} as bant_authority,
        profiles.bant_authority_updated_at,
        {{ lead_scoring.normalised_answer('profiles.bant_need') }} as bant_need,
        profiles.bant_need_updated_at,
        {{ lead_scoring.normalised_answer('profiles.bant_timeline') }} as bant_timeline,
        profiles.bant_timeline_updated_at,
        negative_matches.domain_kind as negative_domain
    from profiles
    left join {{ ref('stg_quality__email_domains') }} as email_domains
        on email_domains.email_domain = profiles.email_domain
    left join title_matches
        on title_matches.job_title = profiles.job_title
        and title_matches.match_rank = 1
    left join {{ ref('country_tiers') }} as country_tiers
        on country_tiers.country_code = profiles.country_code
    left join {{ ref('company_size_bands') }} as size_bands
        on profiles.employee_count >= size_bands.min_employees
        and (size_bands.max_employees is null or profiles.employee_count <= size_bands.max_employees)
    left join negative_matches
        on negative_matches.email_domain = profiles.email_domain
        and negative_matches.match_rank = 1
),

{#- Unpivoted in one pass over facts: one row per lead, score date and
    built-in attribute. -#}
built_in_names as (
    {%- for attribute, value_column, number_column, observed_column in built_in %}
    select '{{ attribute }}' as attribute
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- endfor %}
),

built_in_unpivoted as (
    select
        facts.lead_id,
        facts.offset_days,
        built_in_names.attribute,
        case built_in_names.attribute
            {%- for attribute, value_column, number_column, observed_column in built_in %}
            when '{{ attribute }}' then cast(facts.{{ value_column }} as {{ dbt.type_string() }})
            {%- endfor %}
        end as attribute_value,
        case built_in_names.attribute
            {%- for attribute, value_column, number_column, observed_column in built_in
                if number_column is not none %}
            when '{{ attribute }}' then cast(facts.{{ number_column }} as {{ lead_scoring.type_double() }})
            {%- endfor %}
        end as value_number,
        'fit' as attribute_kind,
        case built_in_names.attribute
            {%- for attribute, value_column, number_column, observed_column in built_in %}
            when '{{ attribute }}' then facts.{{ observed_column }}
            {%- endfor %}
        end as observed_at
    from facts
    cross join built_in_names
),

built_in_attributes as (
    select * from built_in_unpivoted where attribute_value is not null
),

{#- Custom contact attributes: per lead, score date and attribute, the lead
    record's latest valid value, else a merged duplicate's. -#}
contact_attributes_ranked as (
    select
        lead_dates.lead_id,
        lead_dates.offset_days,
        attributes.attribute,
        attributes.value as attribute_value,
        attributes.value_number,
        attributes.attribute_kind,
        attributes.valid_from as observed_at,
        row_number() over (
            partition by lead_dates.lead_id, lead_dates.offset_days, attributes.attribute
            order by
                case when mapped.is_lead_record then 0 else 1 end,
                coalesce(attributes.valid_from, cast('1900-01-01' as {{ dbt.type_timestamp() }})) desc,
                attributes.load_id desc,
                attributes.value
        ) as value_rank
    from {{ ref('stg_crm__contact_attributes') }} as attributes
    inner join {{ ref('int_contacts_mapped_to_leads') }} as mapped
        on mapped.contact_id = attributes.contact_id
    cross join score_dates
    inner join {{ lead_scoring.rescored_rows(ref('int_lead_profiles_resolved'), mode) }} as lead_dates
        on lead_dates.lead_id = mapped.lead_id
        and lead_dates.offset_days = score_dates.offset_days
    where (attributes.valid_from is null or attributes.valid_from < score_dates.score_end_at)
        and attributes.attribute not in (
            {%- for attribute, value_column, number_column, observed_column in built_in %}
            '{{ attribute }}'{% if not loop.last %},{% endif %}
            {%- endfor %})
),

contact_attributes as (
    select
        lead_id,
        offset_days,
        attribute,
        attribute_value,
        value_number,
        attribute_kind,
        observed_at
    from contact_attributes_ranked
    where value_rank = 1
),

{#- Custom company attributes: per account, score date and attribute, the
    latest valid value; then given to the leads of that account on that date. -#}
company_attributes_ranked as (
    select
        attributes.account_id,
        score_dates.offset_days,
        attributes.attribute,
        attributes.value as attribute_value,
        attributes.value_number,
        attributes.attribute_kind,
        attributes.valid_from as observed_at,
        row_number() over (
            partition by attributes.account_id, score_dates.offset_days, attributes.attribute
            order by
                coalesce(attributes.valid_from, cast('1900-01-01' as {{ dbt.type_timestamp() }})) desc,
                attributes.load_id desc,
                attributes.value
        ) as value_rank
    from {{ ref('stg_crm__company_attributes') }} as attributes
    cross join score_dates
    where attributes.valid_from is null or attributes.valid_from < score_dates.score_end_at
),

company_attributes as (
    select
        lead_dates.lead_id,
        lead_dates.offset_days,
        'account.' || ranked.attribute as attribute,
        ranked.attribute_value,
        ranked.value_number,
        ranked.attribute_kind,
        ranked.observed_at
    from {{ lead_scoring.rescored_rows(ref('int_lead_profiles_resolved'), mode) }} as lead_dates
    inner join company_attributes_ranked as ranked
        on ranked.account_id = lead_dates.account_id
        and ranked.offset_days = lead_dates.offset_days
        and ranked.value_rank = 1
),

unioned as (
    select * from built_in_attributes
    union all
    select * from contact_attributes
    union all
    select * from company_attributes
)

select * from unioned
