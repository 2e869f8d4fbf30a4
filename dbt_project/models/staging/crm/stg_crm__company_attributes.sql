{#- Grain: one row per company (account), attribute and valid_from (the attribute's
    history), for companies not in quarantine; rows with an empty value are
    dropped. value_number is the value as a number when it reads as one.
    A warehouse without raw.crm_company_attributes (it predates them) gets an
    empty relation of the same shape. -#}
{{ lead_scoring.attribute_staging('crm_company_attributes', 'account_id', 'company') }}
