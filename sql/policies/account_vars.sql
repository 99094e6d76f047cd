{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{#- UPDATE on each column, not on the table: PostgreSQL lets a role LOCK a table in a mode above ROW EXCLUSIVE
    only with table-level UPDATE, DELETE or TRUNCATE, and such a lock held by one tenant's transaction would stall
    every tenant (docs/security.md). A column added later must be added here to be updatable by the app. -#}
{% set app_columns = 'tenant_id, agents_endpoint_url, agents_timeout_ms, default_agent_type, rag_enabled, rag_top_k, updated_at, agents_api_token_enc, webhook_secret_enc' -%}
{{ tenant_table('account_vars', 'SELECT, UPDATE (' ~ app_columns ~ ')') }}
