{#- Groups of `group_by` whose rows hold more than one distinct value of the
    column (nulls count as a value of their own). -#}
{% test one_value_per_group(model, column_name, group_by) %}
select {{ group_by }}, count(distinct coalesce(cast({{ column_name }} as {{ dbt.type_string() }}), '<null>')) as values_seen
from {{ model }}
group by {{ group_by }}
having count(distinct coalesce(cast({{ column_name }} as {{ dbt.type_string() }}), '<null>')) > 1
{% endtest %}
