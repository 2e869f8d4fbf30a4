{#- Grain: one row per e-mail domain, typed business / personal / disposable. -#}
with source as (
    select * from {{ source('quality', 'email_domains') }}
),

renamed as (
    select
        lower(trim(domain)) as email_domain,
        lower(trim(email_domain_type)) as email_domain_type
    from source
)

select * from renamed
