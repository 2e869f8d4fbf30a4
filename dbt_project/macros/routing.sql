{#- Routing and the follow-up SLA (docs/routing.md): the pieces lead_routing,
    lead_follow_ups and the routing tests share. -#}

{#- The date `days` before the as-of date, as a date literal. -#}
{% macro as_of_date_minus_sql(days) -%}
    {%- set as_of = modules.datetime.date.fromisoformat(lead_scoring.as_of_date()) -%}
    {{ lead_scoring.date_literal((as_of - modules.datetime.timedelta(days=days)).isoformat()) }}
{%- endmacro %}

{#- True when lead_routing can read its earlier rows from {{ this }}: an
    incremental run on a table of the current layout (assigned_at was added
    with the state). A table built before (one stateless day) holds no state. -#}
{% macro routing_history_available() -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if this is string or not execute -%}
        {#- a unit test's fixture for this (or parse time): the current layout -#}
        {{ return(true) }}
    {%- endif -%}
    {{ return('assigned_at' in lead_scoring.relation_columns(this)) }}
{%- endmacro %}

{#- Pre-hook: a lead_routing table of the old, stateless layout is emptied, so
    its rows (without assigned_at) are never read as assignments. -#}
{% macro clear_routing_of_old_layout() -%}
    {%- if is_incremental() and execute and this is not string
        and not lead_scoring.routing_history_available() -%}
        {{ lead_scoring.empty_table(this) }}
    {%- endif -%}
{%- endmacro %}

{#- Two CTEs, own_crm_owners and held_in_crm, that lead_routing and
    lead_follow_ups share (docs/routing.md, "The follow-up SLA"). own_crm_owners:
    the CRM owners this routing gave each lead on any date of `routed` (rows of
    lead_routing; none when `routed` is none), as recorded or as the roster now
    says: the sync writes them to the CRM, so the extract reads them back; a
    later date's too when an earlier date is run again. held_in_crm: the leads
    whose contact's owner is set and is none of them, i.e. someone holds the
    lead in the CRM. Reads the CTEs crm_owners (int_crm_owners_mapped_to_reps)
    and reps (int_sales_reps_resolved). -#}
{% macro held_in_crm_ctes(routed) -%}
own_crm_owners as (
    {%- if routed is not none %}
    select routed.lead_id, routed.crm_owner_id as owner_id
    from {{ routed }} as routed
    where routed.rep_id is not null
        and routed.routing_rule <> 'crm_owner'
        and routed.crm_owner_id is not null
    union
    select routed.lead_id, reps.crm_owner_id as owner_id
    from {{ routed }} as routed
    inner join reps
        on reps.rep_id = routed.rep_id
    where routed.routing_rule <> 'crm_owner'
        and reps.crm_owner_id is not null
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as lead_id,
        cast(null as {{ dbt.type_string() }}) as owner_id
    where 1 = 0
    {%- endif %}
),

held_in_crm as (
    select
        crm_owners.record_id as lead_id,
        crm_owners.owner_id,
        crm_owners.rep_id
    from crm_owners
    left join own_crm_owners
        on own_crm_owners.lead_id = crm_owners.record_id
        and own_crm_owners.owner_id = crm_owners.owner_id
    where crm_owners.record_type = 'contact'
        and own_crm_owners.lead_id is null
)
{%- endmacro %}

{#- The columns of routing_rules that lead_routing knows. A rule on any other
    field (a column added to seeds/routing_rules.csv) stops the build with an
    error naming it, instead of the condition being silently ignored. -#}
{% macro routing_rule_columns() -%}
    {{ return(['priority', 'rule_name', 'countries', 'segment', 'industries',
               'min_employees', 'max_employees', 'team']) }}
{%- endmacro %}

{% macro check_routing_rule_columns(rules_relation) -%}
    {%- set columns = lead_scoring.relation_columns(rules_relation) -%}
    {%- if columns is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set known = lead_scoring.routing_rule_columns() -%}
    {%- set unknown = columns | reject('in', known) | reject('in', ['_dlt_load_id', '_dlt_id']) | list -%}
    {%- if unknown | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "seeds/routing_rules.csv has a column lead_routing does not know: "
            ~ (unknown | join(', ')) ~ ". A rule can test only "
            ~ (known[2:7] | join(', ')) ~ " (docs/routing.md); remove the column or "
            ~ "teach lead_routing the new condition.") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{#- A number of hours from a var: a number >= 0 (or null, when `nullable`). -#}
{% macro hours_var(name, nullable=false) -%}
    {%- set value = var(name) -%}
    {%- if value is none and nullable -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if value is none or value is string or value is boolean or value < 0 -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be a number of hours >= 0" ~ (" or null" if nullable else "")
            ~ ", got " ~ (value | tojson)) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- When `start` plus `hours` of SLA time falls, as a timestamp. With
    lead_scoring__sla_weekdays_only, only Monday to Friday (UTC) count: time is
    measured from the Monday of start's week, a start on a weekend counts from
    the next Monday, and each week holds 5 x 24 hours. -#}
{% macro sla_deadline_sql(start, hours) -%}
    {%- set seconds = (hours * 3600) | round | int -%}
    {%- if var('lead_scoring__sla_weekdays_only') -%}
        {%- set week_start = 'cast(date_trunc(\'week\', ' ~ start ~ ') as ' ~ dbt.type_timestamp() ~ ')' -%}
        {%- set weekday_seconds = 5 * 24 * 3600 -%}
        {%- set position = '(cast(least(' ~ dbt.datediff(week_start, start, 'second') ~ ', '
            ~ weekday_seconds ~ ') as bigint) + ' ~ seconds ~ ')' -%}
        {{ dbt.dateadd('second', 'mod(' ~ position ~ ', ' ~ weekday_seconds ~ ')',
            dbt.dateadd('day', '7 * cast(floor(' ~ position ~ ' / ' ~ weekday_seconds ~ '.0) as bigint)',
                week_start)) }}
    {%- else -%}
        {{ dbt.dateadd('second', seconds, start) }}
    {%- endif -%}
{%- endmacro %}

{#- Each row of `assignments` (lead_id, assigned_at, ...) with its SLA clock
    as of the as-of date: sla_due_at, reassign_at (null when reassignment is
    off) and first_follow_up_at, the first follow-up (int_lead_follow_ups_mapped)
    at or after assigned_at and at or before the end of the as-of date: the
    same bound lead_follow_ups judges deadlines by (due <= the end), so a
    follow-up exactly at a deadline that is the as-of end is met. -#}
{% macro assignment_follow_ups_sql(assignments) -%}
    {%- set reassign_hours = lead_scoring.hours_var('lead_scoring__sla_reassign_after_hours', true) -%}
    {%- set sla_hours = lead_scoring.hours_var('lead_scoring__sla_hours') -%}
    select
        assignments.*,
        {{ lead_scoring.sla_deadline_sql('assignments.assigned_at', sla_hours) }} as sla_due_at,
        {%- if reassign_hours is none %}
        cast(null as {{ dbt.type_timestamp() }}) as reassign_at,
        {%- else %}
        {{ lead_scoring.sla_deadline_sql('assignments.assigned_at', sla_hours + reassign_hours) }}
            as reassign_at,
        {%- endif %}
        first_follow_ups.first_follow_up_at
    from {{ assignments }} as assignments
    left join (
        select
            touched.lead_id,
            touched.assigned_at,
            min(follow_ups.follow_up_at) as first_follow_up_at
        from {{ assignments }} as touched
        inner join {{ ref('int_lead_follow_ups_mapped') }} as follow_ups
            on follow_ups.lead_id = touched.lead_id
            and follow_ups.follow_up_at >= touched.assigned_at
            and follow_ups.follow_up_at <= {{ lead_scoring.score_end_at_sql(0) }}
        group by touched.lead_id, touched.assigned_at
    ) as first_follow_ups
        on first_follow_ups.lead_id = assignments.lead_id
        and first_follow_ups.assigned_at = assignments.assigned_at
{%- endmacro %}

{#- Round-robin slots for the reps of `eligible_reps` (pool, rep_id, team,
    daily_capacity, used_today, assigned_30d): a rep's slots are its free
    places today (used_today + 1 .. daily_capacity); slot n of a rep is its
    (assigned_30d + n)-th lead in 30 days, and slots are dealt in that order,
    then by rep_id. So the rep with the fewest leads over the last 30 days is
    dealt first, and a day's leads even out the month. slot_number counts
    within the pool from 1. `numbers` must hold n = 1, 2, ... -#}
{% macro round_robin_slots(eligible_reps) -%}
    select
        eligible.pool,
        eligible.rep_id,
        eligible.team,
        row_number() over (
            partition by eligible.pool
            order by eligible.assigned_30d + numbers.n, eligible.rep_id
        ) as slot_number
    from {{ eligible_reps }} as eligible
    inner join numbers
        on numbers.n > eligible.used_today
        and numbers.n <= eligible.daily_capacity
{%- endmacro %}

{#- A singular test that stops with `message` (and the rows it found, up to
    ten) when `check_sql` returns rows, so the error reads as a sentence in the
    dbt output and the Airflow log. The test's SQL is `check_sql` itself. -#}
{% macro fail_with_message(check_sql, message) -%}
    {%- set listed = lead_scoring.rows_found_by_test(check_sql) -%}
    {%- if listed -%}
        {{ exceptions.raise_compiler_error(message ~ ' [' ~ listed ~ ']') }}
    {%- endif -%}
    {{ check_sql }}
{%- endmacro %}

{#- The warning of fail_with_message: for a test configured severity warn,
    when `check_sql` returns rows, a dbt warning says `message` with the rows
    (up to ten), and the test warns with their count; the build goes on. -#}
{% macro warn_with_message(check_sql, message) -%}
    {%- set listed = lead_scoring.rows_found_by_test(check_sql) -%}
    {%- if listed -%}
        {%- do exceptions.warn(message ~ ' [' ~ listed ~ ']') -%}
    {%- endif -%}
    {{ check_sql }}
{%- endmacro %}

{#- When a test runs (build, test, retry): the rows `check_sql` returns, up to
    ten, as 'a b; c d'; empty when none (or at parse time). -#}
{% macro rows_found_by_test(check_sql) -%}
    {%- if not (execute and flags.WHICH in ('build', 'test', 'retry')) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set found = run_query(check_sql) -%}
    {%- set listed = [] -%}
    {%- for row in found.rows[:10] -%}
        {%- do listed.append(row.values() | join(' ')) -%}
    {%- endfor -%}
    {{ return(listed | join('; ')) }}
{%- endmacro %}
