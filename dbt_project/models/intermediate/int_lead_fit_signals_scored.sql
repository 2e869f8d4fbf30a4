{{ config(materialized='table') }}
{#- Grain: one row per lead, score date and known profile dimension (signal
    e.g. seniority:vp). Points come from fit_rules; a value without a rule
    scores 0. observed_at is when the profile value used was recorded. -#}
{%- set dimensions = [
    ('email_type', 'email_type', 'email_domain_updated_at'),
    ('seniority', 'seniority', 'job_title_updated_at'),
    ('persona', 'persona', 'job_title_updated_at'),
    ('target_account', 'target_account', 'target_account_observed_at'),
    ('country_tier', 'country_tier', 'country_code_updated_at'),
    ('company_size', 'company_size_band', 'employee_count_updated_at'),
    ('industry', 'industry', 'industry_updated_at'),
    ('bant_budget', 'bant_budget', 'bant_budget_updated_at'),
    ('bant_authority', 'bant_authority', 'bant_authority_updated_at'),
    ('bant_need', 'bant_need', 'bant_need_updated_at'),
    ('bant_timeline', 'bant_timeline', 'bant_timeline_updated_at'),
    ('negative_domain', 'negative_domain', 'email_domain_updated_at'),
] -%}
with profiles as (
    select * from {{ ref('int_lead_profiles_resolved') }}
),

fit_rules as (
    select * from {{ ref('fit_rules') }}
),

target_accounts as (
    select lower(domain) as domain from {{ ref('target_accounts') }}
),

{#- Title keywords and negative domains are matched once per distinct value.
    These read the model itself, so that the profiles CTE is named once (a
    CTE named more than once is materialised: every profile held at once). -#}
job_titles as (
    select distinct job_title
    from {{ ref('int_lead_profiles_resolved') }}
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
    from {{ ref('int_lead_profiles_resolved') }}
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
        profiles.country_code_updated_at,
        size_bands.company_size_band,
        profiles.employee_count_updated_at,
        profiles.industry,
        profiles.industry_updated_at,
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

{#- Unpivoted in one pass over facts: one row per lead, score date and dimension. -#}
dimensions as (
    {%- for dimension, value_column, observed_column in dimensions %}
    select '{{ dimension }}' as dimension
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- endfor %}
),

unpivoted as (
    select
        facts.lead_id,
        facts.offset_days,
        dimensions.dimension,
        case dimensions.dimension
            {%- for dimension, value_column, observed_column in dimensions %}
            when '{{ dimension }}' then cast(facts.{{ value_column }} as {{ dbt.type_string() }})
            {%- endfor %}
        end as dimension_value,
        case dimensions.dimension
            {%- for dimension, value_column, observed_column in dimensions %}
            when '{{ dimension }}' then facts.{{ observed_column }}
            {%- endfor %}
        end as observed_at
    from facts
    cross join dimensions
),

signals as (
    select * from unpivoted where dimension_value is not null
),

scored as (
    select
        signals.lead_id,
        signals.offset_days,
        signals.dimension || ':' || signals.dimension_value as signal,
        signals.dimension,
        signals.dimension_value,
        cast(coalesce(fit_rules.points, 0) as numeric(10, 2)) as points,
        coalesce(fit_rules.reason_label, signals.dimension_value) as reason_label,
        signals.observed_at
    from signals
    left join fit_rules
        on fit_rules.dimension = signals.dimension
        and fit_rules.dimension_value = signals.dimension_value
)

select * from scored
