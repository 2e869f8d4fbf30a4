{#- Grain: one row per contact, attribute and valid_from (the attribute's
    history), for contacts not in quarantine; rows with an empty value are
    dropped. value_number is the value as a number when it reads as one.
    A warehouse without raw.crm_contact_attributes (it predates them) gets an
    empty relation of the same shape. -#}
{{ lead_scoring.attribute_staging('crm_contact_attributes', 'contact_id', 'contact') }}
