{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{#- No DELETE, which would let the app LOCK the table in any mode: it calls dom360.delete_agent()
    (docs/security.md). -#}
{% set app_columns = 'tenant_id, id, agent_type, name, settings, created_at' -%}
{{ tenant_table('agents', 'SELECT, INSERT', update_columns=app_columns) }}
