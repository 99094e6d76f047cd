{% from "policies/_tenant_table.jinja" import tenant_table with context -%}
{#- UPDATE on every column but message_count, the numbering counter: only the messages trigger (running as
    the owner) moves it. A column privilege costs nothing on the chat path, where the WHEN clause of a
    trigger that guarded this column was parsed and planned on every message (bench/README.md). A column
    added to conversations later must be added here to be updatable by the app. -#}
{{ tenant_table('conversations', 'SELECT, INSERT, DELETE, UPDATE (tenant_id, id, inbox_id, external_id, status, agent_type, created_at, updated_at, last_message_at, closed_at, first_message_at)') }}
