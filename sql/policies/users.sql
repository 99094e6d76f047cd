{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{#- No DELETE, which would let the app LOCK the table in any mode: it calls dom360.delete_user()
    (docs/security.md). -#}
{% set app_columns = 'tenant_id, id, email, name, role, created_at' -%}
{{ tenant_table('users', 'SELECT, INSERT', update_columns=app_columns) }}
