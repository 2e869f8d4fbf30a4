-- The scoring floor: one hand-written DuckDB query computing, on the same raw and quality
-- tables and the same rule seeds (schema scoring_rules, loaded by `dbt seed`), what the dbt
-- project computes for the as-of date: fit, decayed and capped pain, lead score and the
-- account rollup. `make bench` times it against `dbt run` (scoring_floor_s); tests/test_bench.py
-- checks that its scores equal marts.lead_scores and marts.account_scores.
--
-- Parameter: $as_of (YYYY-MM-DD). Vars at their dbt_project.yml defaults: score floor 0,
-- rollup top_n_mean with N = 3, both event sources on. As of a first run, every contact and
-- company has one captured version (no progressive-profiling history), and only the as-of
-- date is scored (no 7/30-day gains, reasons, stages or tracks): that is the floor. Of the
-- signal catalogue (signal_rules) it applies what the default seed holds: equals rules of
-- kind fit on the built-in attributes (no custom attributes; the bench data has none).
-- Output: one row per lead (row_kind 'lead') and one per clean company (row_kind 'account').
with params as (
    select
        cast($as_of as date) as as_of_date,
        cast(cast($as_of as date) + interval 1 day as timestamp) as score_end_at
),

quarantine as (
    select distinct record_type, record_id from quality.quarantine
),

normalised as (
    select record_type, record_id, field, original_value, max(normalised_value) as value
    from quality.normalised_values
    group by all
),

contacts as (
    select
        c.hs_object_id as contact_id,
        lower(nullif(trim(coalesce(n_email.value, c.email)), '')) as email,
        nullif(trim(coalesce(n_title.value, c.jobtitle)), '') as job_title,
        upper(nullif(trim(coalesce(n_country.value, c.country)), '')) as country_code,
        nullif(trim(c.associatedcompanyid), '') as account_id,
        nullif(trim(coalesce(n_budget.value, c.bant_budget)), '') as bant_budget,
        nullif(trim(coalesce(n_authority.value, c.bant_authority)), '') as bant_authority,
        nullif(trim(coalesce(n_need.value, c.bant_need)), '') as bant_need,
        nullif(trim(coalesce(n_timeline.value, c.bant_timeline)), '') as bant_timeline,
        cast(nullif(trim(c.createdate), '') as timestamp) as created_at,
        cast(nullif(trim(c.lastmodifieddate), '') as timestamp) as updated_at
    from raw.crm_contacts as c
    left join normalised as n_email
        on n_email.record_type = 'contact' and n_email.record_id = c.hs_object_id
        and n_email.field = 'email' and n_email.original_value = c.email
    left join normalised as n_title
        on n_title.record_type = 'contact' and n_title.record_id = c.hs_object_id
        and n_title.field = 'jobtitle' and n_title.original_value = c.jobtitle
    left join normalised as n_country
        on n_country.record_type = 'contact' and n_country.record_id = c.hs_object_id
        and n_country.field = 'country' and n_country.original_value = c.country
    left join normalised as n_budget
        on n_budget.record_type = 'contact' and n_budget.record_id = c.hs_object_id
        and n_budget.field = 'bant_budget' and n_budget.original_value = c.bant_budget
    left join normalised as n_authority
        on n_authority.record_type = 'contact' and n_authority.record_id = c.hs_object_id
        and n_authority.field = 'bant_authority' and n_authority.original_value = c.bant_authority
    left join normalised as n_need
        on n_need.record_type = 'contact' and n_need.record_id = c.hs_object_id
        and n_need.field = 'bant_need' and n_need.original_value = c.bant_need
    left join normalised as n_timeline
        on n_timeline.record_type = 'contact' and n_timeline.record_id = c.hs_object_id
        and n_timeline.field = 'bant_timeline' and n_timeline.original_value = c.bant_timeline
    anti join quarantine as q
        on q.record_type = 'contact' and q.record_id = c.hs_object_id
),

companies as (
    select
        c.hs_object_id as account_id,
        lower(nullif(trim(coalesce(n_domain.value, c.domain)), '')) as domain,
        replace(lower(nullif(trim(coalesce(n_industry.value, c.industry)), '')), ' ', '_')
            as industry,
        case when regexp_matches(nullif(trim(coalesce(n_size.value, c.numberofemployees)), ''),
                                 '^[0-9]+(\.0+)?$')
            then cast(cast(nullif(trim(coalesce(n_size.value, c.numberofemployees)), '')
                           as numeric(38, 6)) as bigint)
        end as employee_count,
        upper(nullif(trim(coalesce(n_country.value, c.country)), '')) as country_code,
        coalesce(lower(nullif(trim(c.ls_target_account), '')) = 'true', false)
            as is_target_account,
        cast(nullif(trim(c.createdate), '') as timestamp) as created_at,
        cast(nullif(trim(c.lastmodifieddate), '') as timestamp) as updated_at
    from raw.crm_companies as c
    left join normalised as n_domain
        on n_domain.record_type = 'company' and n_domain.record_id = c.hs_object_id
        and n_domain.field = 'domain' and n_domain.original_value = c.domain
    left join normalised as n_industry
        on n_industry.record_type = 'company' and n_industry.record_id = c.hs_object_id
        and n_industry.field = 'industry' and n_industry.original_value = c.industry
    left join normalised as n_size
        on n_size.record_type = 'company' and n_size.record_id = c.hs_object_id
        and n_size.field = 'numberofemployees' and n_size.original_value = c.numberofemployees
    left join normalised as n_country
        on n_country.record_type = 'company' and n_country.record_id = c.hs_object_id
        and n_country.field = 'country' and n_country.original_value = c.country
    anti join quarantine as q
        on q.record_type = 'company' and q.record_id = c.hs_object_id
),

duplicates as (
    select record_id as contact_id, survivor_id
    from quality.duplicate_leads
    where record_id <> survivor_id
    qualify row_number() over (partition by record_id order by run_id desc, survivor_id) = 1
),

-- each clean contact and its lead: itself, or the survivor it merges into
mapped as (
    select
        c.contact_id,
        coalesce(d.survivor_id, c.contact_id) as lead_id,
        d.survivor_id is null as is_lead_record,
        coalesce(s.created_at, s.updated_at) as lead_created_at
    from contacts as c
    left join duplicates as d on d.contact_id = c.contact_id
    inner join contacts as s on s.contact_id = coalesce(d.survivor_id, c.contact_id)
    anti join duplicates as dd on dd.contact_id = coalesce(d.survivor_id, c.contact_id)
),

-- the profile as of the as-of date: per field, the survivor's value, else a duplicate's
-- latest (the values known by the end of that day)
profiles as (
    select
        m.lead_id,
        any_value(m.lead_created_at) as lead_created_at,
        first(c.email order by m.is_lead_record desc, c.updated_at desc)
            filter (where c.email is not null) as email,
        first(string_split(c.email, '@')[2] order by m.is_lead_record desc, c.updated_at desc)
            filter (where string_split(c.email, '@')[2] is not null) as email_domain,
        first(c.job_title order by m.is_lead_record desc, c.updated_at desc)
            filter (where c.job_title is not null) as job_title,
        first(c.country_code order by m.is_lead_record desc, c.updated_at desc)
            filter (where c.country_code is not null) as country_code,
        first(c.account_id order by m.is_lead_record desc, c.updated_at desc)
            filter (where c.account_id is not null) as account_id,
        first(c.bant_budget order by m.is_lead_record desc, c.updated_at desc)
            filter (where c.bant_budget is not null) as bant_budget,
        first(c.bant_authority order by m.is_lead_record desc, c.updated_at desc)
            filter (where c.bant_authority is not null) as bant_authority,
        first(c.bant_need order by m.is_lead_record desc, c.updated_at desc)
            filter (where c.bant_need is not null) as bant_need,
        first(c.bant_timeline order by m.is_lead_record desc, c.updated_at desc)
            filter (where c.bant_timeline is not null) as bant_timeline
    from mapped as m
    inner join contacts as c on c.contact_id = m.contact_id
    cross join params as p
    where m.lead_created_at < p.score_end_at
        and (c.updated_at < p.score_end_at
             or coalesce(c.created_at, c.updated_at) < p.score_end_at)
    group by m.lead_id
    having bool_or(m.is_lead_record)
),

known_companies as (
    select companies.*
    from companies
    cross join params as p
    where companies.updated_at < p.score_end_at
        or coalesce(companies.created_at, companies.updated_at) < p.score_end_at
),

facts as (
    select
        pr.lead_id,
        pr.account_id,
        coalesce(ed.email_domain_type, 'unknown') as email_type,
        tm.seniority,
        tm.persona,
        case
            when co.is_target_account
                or co.domain in (select lower(domain) from scoring_rules.target_accounts)
                or pr.email_domain in (select lower(domain) from scoring_rules.target_accounts)
                then 'yes'
        end as target_account,
        ct.country_tier,
        sb.company_size_band,
        co.industry,
        case when lower(pr.bant_budget) in ('yes', 'y', 'true', '1') then 'yes'
             when lower(pr.bant_budget) in ('no', 'n', 'false', '0') then 'no'
             else lower(pr.bant_budget) end as bant_budget,
        case when lower(pr.bant_authority) in ('yes', 'y', 'true', '1') then 'yes'
             when lower(pr.bant_authority) in ('no', 'n', 'false', '0') then 'no'
             else lower(pr.bant_authority) end as bant_authority,
        case when lower(pr.bant_need) in ('yes', 'y', 'true', '1') then 'yes'
             when lower(pr.bant_need) in ('no', 'n', 'false', '0') then 'no'
             else lower(pr.bant_need) end as bant_need,
        case when lower(pr.bant_timeline) in ('yes', 'y', 'true', '1') then 'yes'
             when lower(pr.bant_timeline) in ('no', 'n', 'false', '0') then 'no'
             else lower(pr.bant_timeline) end as bant_timeline,
        nd.domain_kind as negative_domain
    from profiles as pr
    left join known_companies as co on co.account_id = pr.account_id
    left join (
        select lower(trim(domain)) as domain, lower(trim(email_domain_type)) as email_domain_type
        from quality.email_domains
    ) as ed on ed.domain = pr.email_domain
    left join (
        select pr2.lead_id, arg_min(r.seniority, (r.priority, r.keyword)) as seniority,
               arg_min(r.persona, (r.priority, r.keyword)) as persona
        from profiles as pr2
        inner join scoring_rules.job_title_rules as r
            on ' ' || translate(lower(pr2.job_title), ',.;:-/&()|+', '           ') || ' '
                like '% ' || lower(r.keyword) || ' %'
        group by pr2.lead_id
    ) as tm on tm.lead_id = pr.lead_id
    left join scoring_rules.country_tiers as ct
        on ct.country_code = coalesce(pr.country_code, co.country_code)
    left join scoring_rules.company_size_bands as sb
        on co.employee_count >= sb.min_employees
        and (sb.max_employees is null or co.employee_count <= sb.max_employees)
    left join (
        select pr3.lead_id, arg_max(n.domain_kind, length(n.domain)) as domain_kind
        from profiles as pr3
        inner join scoring_rules.negative_domains as n
            on pr3.email_domain = lower(n.domain) or pr3.email_domain like '%.' || lower(n.domain)
        group by pr3.lead_id
    ) as nd on nd.lead_id = pr.lead_id
),

fit as (
    select
        s.lead_id,
        sum(cast(coalesce(r.points, 0) as numeric(10, 2))) as fit_score
    from (
        unpivot (
            select lead_id, email_type, seniority, persona, target_account,
                   cast(country_tier as varchar) as country_tier,
                   company_size_band as company_size, industry, bant_budget, bant_authority,
                   bant_need, bant_timeline, negative_domain
            from facts
        ) on email_type, seniority, persona, target_account, country_tier, company_size,
             industry, bant_budget, bant_authority, bant_need, bant_timeline, negative_domain
        into name attribute value attribute_value
    ) as s
    left join scoring_rules.signal_rules as r
        on r.transform = 'equals' and r.kind = 'fit'
        and r.attribute = s.attribute and r.value = s.attribute_value
    group by s.lead_id
),

events as (
    select 'product' as event_source, cast(e.user_id as varchar) as subject_id,
           lower(nullif(trim(e.event_type), '')) as event_type,
           cast(e.occurred_at as timestamp) as occurred_at
    from raw.product_events as e
    anti join quarantine as q
        on q.record_type = 'product_event' and q.record_id = cast(e.event_id as varchar)
    qualify row_number() over (partition by e.event_id
                               order by cast(e._dlt_load_id as double), e.occurred_at) = 1
    union all
    select 'marketing', nullif(trim(e.contact_id), ''), lower(nullif(trim(e.event_type), '')),
           cast(e.occurred_at at time zone 'UTC' as timestamp)
    from raw.marketing_events as e
    anti join quarantine as q
        on q.record_type = 'marketing_event' and q.record_id = e.event_id
    qualify row_number() over (partition by e.event_id
                               order by cast(e._dlt_load_id as double), e.occurred_at) = 1
),

-- weight-free decayed count per event subject and type
decayed as (
    select
        e.event_source,
        e.subject_id,
        e.event_type,
        sum(power(cast(0.5 as double),
                  cast(date_diff('day', cast(e.occurred_at as date)::timestamp,
                                 p.as_of_date::timestamp) as double)
                  / cast(w.half_life_days as double))) as decayed_count
    from events as e
    inner join scoring_rules.event_weights as w on w.event_type = e.event_type
    cross join params as p
    where e.subject_id is not null
        and e.occurred_at is not null
        and cast(e.occurred_at as date) <= p.as_of_date
    group by all
),

product_users as (
    select cast(u.user_id as varchar) as user_id,
           lower(nullif(trim(coalesce(n.value, u.email)), '')) as email
    from raw.product_users as u
    left join normalised as n
        on n.record_type = 'product_user' and n.record_id = cast(u.user_id as varchar)
        and n.field = 'email' and n.original_value = u.email
    anti join quarantine as q
        on q.record_type = 'product_user' and q.record_id = cast(u.user_id as varchar)
),

subjects as (
    select 'marketing' as event_source, contact_id as subject_id, lead_id from mapped
    union all
    select 'product', u.user_id, min(m.lead_id)
    from product_users as u
    inner join contacts as c on c.email = u.email
    inner join mapped as m on m.contact_id = c.contact_id
    group by u.user_id
),

-- points per lead and type: summed over the lead's subjects, then capped
pain as (
    select lead_id, sum(points) as pain_score
    from (
        select
            s.lead_id,
            case
                when w.max_points is null then sum(d.decayed_count) * w.points
                when sum(d.decayed_count) * w.points < 0
                    then -1 * least(-1 * sum(d.decayed_count) * w.points, w.max_points)
                else least(sum(d.decayed_count) * w.points, w.max_points)
            end as points
        from decayed as d
        inner join subjects as s
            on s.event_source = d.event_source and s.subject_id = d.subject_id
        inner join scoring_rules.event_weights as w on w.event_type = d.event_type
        group by s.lead_id, d.event_type, w.points, w.max_points
    )
    group by lead_id
),

leads as (
    select
        pr.lead_id,
        pr.account_id,
        cast(round(cast(coalesce(fit.fit_score, 0) as numeric(18, 6)), 2) as numeric(12, 2))
            as fit_score,
        cast(round(cast(coalesce(pain.pain_score, 0) as numeric(18, 6)), 2) as numeric(12, 2))
            as pain_score
    from profiles as pr
    left join fit on fit.lead_id = pr.lead_id
    left join pain on pain.lead_id = pr.lead_id
),

lead_scores as (
    select
        leads.*,
        cast(round(cast(greatest(fit_score + pain_score, 0) as numeric(18, 6)), 2)
             as numeric(12, 2)) as lead_score
    from leads
),

-- account_score: the mean of the 3 best lead scores (top_n_mean)
accounts as (
    select
        companies.account_id,
        cast(round(cast(coalesce(avg(ranked.lead_score)
                                 filter (where ranked.score_rank <= 3), 0)
                        as numeric(18, 6)), 2) as numeric(12, 2)) as account_score
    from companies
    left join (
        select account_id, lead_score,
               row_number() over (partition by account_id
                                  order by lead_score desc, lead_id asc) as score_rank
        from lead_scores
        where account_id is not null
    ) as ranked on ranked.account_id = companies.account_id
    group by companies.account_id
)

select 'lead' as row_kind, lead_id, account_id, fit_score, pain_score, lead_score,
       cast(null as numeric(12, 2)) as account_score
from lead_scores
union all
select 'account', null, account_id, null, null, null, account_score
from accounts
