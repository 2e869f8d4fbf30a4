{#- Rows whose text is longer than `max_characters`. -#}
{% test max_length(model, column_name, max_characters) %}
select {{ column_name }}
from {{ model }}
where {{ dbt.length(column_name) }} > {{ max_characters }}
{% endtest %}
