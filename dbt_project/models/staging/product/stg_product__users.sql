{{ config(enabled=var('lead_scoring__using_product_events')) }}
{#- Grain: one row per product user not in quarantine. The e-mail is
    lower-cased and trimmed: it links users to CRM contacts. -#}
with source as (
    select * from {{ source('product', 'product_users') }}
),

normalised as (
    {{ lead_scoring.normalised_values_sql('product_user') }}
),

renamed as (
    select
        cast(source.user_id as {{ dbt.type_string() }}) as user_id,
        lower({{ lead_scoring.normalised('source', 'email') }}) as email,
        {{ lead_scoring.utc_timestamp(source('product', 'product_users'), 'signed_up_at') }}
            as signed_up_at,
        {{ lead_scoring.utc_timestamp(source('product', 'product_users'), 'updated_at') }}
            as updated_at
    from source
    {{ lead_scoring.join_normalised('source', 'user_id', ['email']) }}
    where {{ lead_scoring.not_quarantined('product_user', 'source.user_id') }}
)

select * from renamed
