{#- Capacity 0 for everyone is a roster error, not a quiet queue: with
    SDR-ready leads and no rep in office with a daily_capacity above 0, the
    test stops with one clear message. -#}
{%- set check_sql -%}
select count(*) as sdr_ready_leads
from {{ ref('lead_scores') }}
where is_sdr_ready
having count(*) > 0
    and not exists (
        select 1
        from {{ ref('int_sales_reps_resolved') }}
        where not out_of_office and daily_capacity > 0
    )
{%- endset -%}
{{ lead_scoring.fail_with_message(check_sql,
    "no rep has capacity: every SDR-ready lead would wait (seeds/sales_reps.csv: every rep is"
    ~ " out of office or has daily_capacity 0; SDR-ready leads today)") }}
