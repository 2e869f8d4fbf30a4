{#- Grain: one row per clean CRM company (account). account_score rolls up the
    lead scores of its leads (lead_scoring__account_rollup: sum, max, or
    top_n_mean = mean of the lead_scoring__account_top_n best). Persona coverage
    counts the buying personas (decision maker, influencer, end user) with an
    engaged lead (pain_score above lead_scoring__engaged_pain_threshold). -#}
{%- set rollup = lead_scoring.choice_var('lead_scoring__account_rollup', ['sum', 'max', 'top_n_mean']) -%}
{%- set engaged = 'leads.pain_score > ' ~ lead_scoring.number_var('lead_scoring__engaged_pain_threshold') -%}
with accounts as (
    select account_id, domain from {{ ref('stg_crm__companies') }}
),

leads as (
    select
        scores.*,
        row_number() over (
            partition by scores.account_id order by scores.lead_score desc, scores.lead_id asc
        ) as score_rank
    from {{ ref('int_lead_scores_combined') }} as scores
    where scores.account_id is not null
),

rolled_up as (
    select
        leads.account_id,
        {%- if rollup == 'sum' %}
        sum(leads.lead_score) as account_score,
        {%- elif rollup == 'max' %}
        max(leads.lead_score) as account_score,
        {%- else %}
        avg(case when leads.score_rank <= {{ lead_scoring.number_var('lead_scoring__account_top_n') }}
                 then leads.lead_score end) as account_score,
        {%- endif %}
        count(*) as lead_count,
        sum(case when leads.is_sdr_ready then 1 else 0 end) as sdr_ready_lead_count,
        max(case when leads.persona = 'decision_maker' and {{ engaged }} then 1 else 0 end)
            as decision_maker_engaged,
        max(case when leads.persona = 'influencer' and {{ engaged }} then 1 else 0 end)
            as influencer_engaged,
        max(case when leads.persona = 'end_user' and {{ engaged }} then 1 else 0 end)
            as end_user_engaged
    from leads
    group by leads.account_id
),

final as (
    select
        accounts.account_id,
        accounts.domain,
        {{ lead_scoring.to_points('coalesce(rolled_up.account_score, 0)') }} as account_score,
        cast(coalesce(rolled_up.lead_count, 0) as integer) as lead_count,
        cast(coalesce(rolled_up.sdr_ready_lead_count, 0) as integer) as sdr_ready_lead_count,
        coalesce(rolled_up.decision_maker_engaged, 0) = 1 as has_decision_maker,
        coalesce(rolled_up.influencer_engaged, 0) = 1 as has_influencer,
        coalesce(rolled_up.end_user_engaged, 0) = 1 as has_end_user,
        cast(
            coalesce(rolled_up.decision_maker_engaged + rolled_up.influencer_engaged
                     + rolled_up.end_user_engaged, 0) as integer
        ) as persona_coverage,
        coalesce(rolled_up.account_score, 0)
            >= {{ lead_scoring.number_var('lead_scoring__account_sdr_ready_threshold') }}
            and coalesce(rolled_up.decision_maker_engaged + rolled_up.influencer_engaged
                         + rolled_up.end_user_engaged, 0)
            >= {{ lead_scoring.number_var('lead_scoring__account_sdr_ready_min_personas') }}
            as is_sdr_ready,
        current_version.model_version,
        {{ lead_scoring.as_of_date_sql() }} as as_of_date
    from accounts
    left join rolled_up
        on rolled_up.account_id = accounts.account_id
    cross join {{ ref('int_scoring_rules_versioned') }} as current_version
)

select * from final
