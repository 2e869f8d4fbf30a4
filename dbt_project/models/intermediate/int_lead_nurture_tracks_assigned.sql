{#- Grain: one row per scored lead: the recommended nurture track, from the
    first rule in nurture_track_rules (lowest priority) whose conditions all
    match; '*' matches anything. -#}
{%- set as_of = lead_scoring.as_of_date_sql() -%}
with leads as (
    select
        scores.lead_id,
        milestones.lifecycle_stage,
        scores.quadrant,
        milestones.deal_outcome,
        scores.product_milestone,
        case
            when {{ dbt.datediff('scores.lead_created_at', as_of, 'day') }}
                <= {{ lead_scoring.number_var('lead_scoring__welcome_track_days') }}
                then 'yes'
            else 'no'
        end as is_new_lead
    from {{ ref('int_lead_scores_combined') }} as scores
    inner join {{ ref('int_lead_milestones_reached') }} as milestones
        on milestones.lead_id = scores.lead_id
),

matched as (
    select
        leads.lead_id,
        rules.nurture_track,
        row_number() over (partition by leads.lead_id order by rules.priority) as rule_rank
    from leads
    inner join {{ ref('nurture_track_rules') }} as rules
        on (rules.lifecycle_stage = '*' or rules.lifecycle_stage = leads.lifecycle_stage)
        and (rules.quadrant = '*' or rules.quadrant = leads.quadrant)
        and (rules.deal_outcome = '*' or rules.deal_outcome = leads.deal_outcome)
        and (rules.product_milestone = '*' or rules.product_milestone = leads.product_milestone)
        and (rules.is_new_lead = '*' or rules.is_new_lead = leads.is_new_lead)
)

select lead_id, nurture_track
from matched
where rule_rank = 1
