{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{{ tenant_table('conversation_stages', 'SELECT') }}
