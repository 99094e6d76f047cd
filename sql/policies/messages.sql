{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{{ tenant_table('messages', 'SELECT, INSERT') }}

GRANT USAGE ON SEQUENCE dom360.messages_id_seq TO {{ app_role | ident }};
