{#- Grain: one row per event subject (event_source, subject_id) that belongs to
    a scored lead. Marketing events name a CRM contact: its key or, for a
    Salesforce person, the record it is now (a converted Lead's Contact Id);
    product users link to contacts by lower(trim(email)). Duplicates resolve
    to their survivor. -#}
with mapped as (
    select * from {{ ref('int_contacts_mapped_to_leads') }}
),

contacts as (
    select contact_id, crm_record_id, email from {{ ref('stg_crm__contacts') }}
),

marketing_subjects as (
    select
        'marketing' as event_source,
        contact_id as subject_id,
        lead_id
    from mapped
    union all
    select
        'marketing' as event_source,
        contacts.crm_record_id as subject_id,
        mapped.lead_id
    from contacts
    inner join mapped
        on mapped.contact_id = contacts.contact_id
    where contacts.crm_record_id <> contacts.contact_id
),

{%- if var('lead_scoring__using_product_events') %}
{#- Two contacts sharing an e-mail that the gate did not merge: the product
    user goes to the lowest lead id, deterministically. -#}
product_subjects as (
    select
        'product' as event_source,
        users.user_id as subject_id,
        min(mapped.lead_id) as lead_id
    from {{ ref('stg_product__users') }} as users
    inner join contacts
        on contacts.email = users.email
    inner join mapped
        on mapped.contact_id = contacts.contact_id
    group by users.user_id
),
{%- endif %}

resolved as (
    select * from marketing_subjects
    {%- if var('lead_scoring__using_product_events') %}
    union all
    select * from product_subjects
    {%- endif %}
)

select * from resolved
