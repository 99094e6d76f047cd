{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{% set app_columns = 'tenant_id, agents_endpoint_url, agents_timeout_ms, default_agent_type, rag_enabled, rag_top_k, updated_at, agents_api_token_enc, webhook_secret_enc' -%}
{{ tenant_table('account_vars', 'SELECT', update_columns=app_columns) }}
